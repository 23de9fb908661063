/**
 * Join tokens: JWTs that name the room, the display name and the role of a participant, issued by the
 * deployment itself (HS256 with a shared secret) or by trusted identity providers and partner
 * organisations (EdDSA, ES256 or RS256, with public keys given as JWKs or fetched from a JWKS URL).
 * Verification is jose's; this file only decides which key and which algorithms belong to which issuer.
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { DisplayName, Role } from '../../shared/signaling.ts';

const ASYMMETRIC = ['EdDSA', 'ES256', 'RS256'];

/** One trusted issuer, as configured (TREFFPUNKT_TRUSTED_ISSUERS is a JSON array of these). */
export const TrustedIssuer = z.union([
  z.object({ issuer: z.string().min(1), hs256Secret: z.string().min(32, 'an HS256 secret must be at least 32 characters') }).strict(),
  z.object({ issuer: z.string().min(1), jwksUrl: z.url({ protocol: /^https?$/ }) }).strict(),
  z.object({ issuer: z.string().min(1), jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }) }).strict(),
]);
export type TrustedIssuer = z.infer<typeof TrustedIssuer>;

/**
 * Optional `media` claim: where this meeting's media may go. The first participant who enters the room
 * fixes it for the room (on top of the deployment's own constraint); later tokens must name the same or
 * none. Jurisdictions are ISO country codes or "EU".
 */
export const MediaClaim = z
  .object({
    operators: z.array(z.string().min(1).max(64)).min(1).max(32).optional(),
    jurisdictions: z.array(z.string().regex(/^[A-Z]{2}$/)).min(1).max(64).optional(),
  })
  .strict();

export const JoinClaims = z.object({
  room: z.string(),
  name: DisplayName,
  role: Role,
  sub: z.string().max(256).optional(),
  media: MediaClaim.optional(),
});
export type JoinClaims = z.infer<typeof JoinClaims>;

const refuse = (why: string) => new TreffpunktError(ErrorCode.Unauthorized, `join token refused: ${why}`);

export class JoinTokenVerifier {
  readonly #issuers = new Map<string, { key: JWTVerifyGetKey | Uint8Array; algorithms: string[] }>();

  /**
   * @param jwksCooldownMs after fetching a JWKS, an unknown key id triggers a refetch only after this long
   *   (jose's default 30 s protects the IdP from token spam with made-up key ids).
   */
  constructor(issuers: readonly TrustedIssuer[], { jwksCooldownMs = 30_000 }: { jwksCooldownMs?: number } = {}) {
    for (const i of issuers) {
      if ('hs256Secret' in i) this.#issuers.set(i.issuer, { key: new TextEncoder().encode(i.hs256Secret), algorithms: ['HS256'] });
      // jose caches the key set and refetches it on an unknown key id: rotation works without a restart.
      else if ('jwksUrl' in i) this.#issuers.set(i.issuer, { key: createRemoteJWKSet(new URL(i.jwksUrl), { cooldownDuration: jwksCooldownMs }), algorithms: ASYMMETRIC });
      else this.#issuers.set(i.issuer, { key: createLocalJWKSet(i.jwks as Parameters<typeof createLocalJWKSet>[0]), algorithms: ASYMMETRIC });
    }
  }

  get enabled(): boolean {
    return this.#issuers.size > 0;
  }

  /** Verifies a token for `room`; throws UNAUTHORIZED with the reason. */
  async verify(token: string, room: string): Promise<JoinClaims & { issuer: string }> {
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw refuse('malformed');
    }
    const trusted = issuer === undefined ? undefined : this.#issuers.get(issuer);
    if (!trusted || issuer === undefined) throw refuse('untrusted issuer');
    let payload: unknown;
    try {
      const key = trusted.key;
      const result = key instanceof Uint8Array
        ? await jwtVerify(token, key, { issuer, algorithms: trusted.algorithms, requiredClaims: ['exp'] })
        : await jwtVerify(token, key, { issuer, algorithms: trusted.algorithms, requiredClaims: ['exp'] });
      payload = result.payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw refuse('expired');
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') throw refuse('not yet valid');
      if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) throw refuse('algorithm not allowed');
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWSSignatureVerificationFailed) throw refuse('bad signature');
      throw refuse('invalid');
    }
    const claims = JoinClaims.safeParse(payload);
    if (!claims.success) throw refuse(`claims: ${claims.error.issues[0]?.path.join('.')} ${claims.error.issues[0]?.message}`);
    if (claims.data.room !== room) throw refuse('issued for another room');
    return { ...claims.data, issuer };
  }
}
