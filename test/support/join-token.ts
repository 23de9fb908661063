/**
 * Join tokens as the deployment's own portal mints them for tests: HS256 with TREFFPUNKT_JOIN_TOKEN_SECRET,
 * issuer "treffpunkt", audience "treffpunkt" (TREFFPUNKT_TOKEN_AUDIENCE's default). Tests that check the
 * token rules themselves (token-security, join-tokens) build their tokens by hand.
 */
import { SignJWT } from 'jose';

/** @example await deploymentToken(SECRET, { room: 'r1', name: 'Ada', role: 'moderator' }) */
export function deploymentToken(
  secret: string,
  claims: Record<string, unknown>,
  exp: string | number = '10m',
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('treffpunkt')
    .setAudience('treffpunkt')
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}
