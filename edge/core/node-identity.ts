/**
 * A registration checked against what the edge's configuration fixes about the node (NodePin in
 * config.ts). Without pins a node's operator, jurisdiction and control URL are its own word, and rooms
 * that require operators or jurisdictions (media-constraint.ts) would trust any node holding a secret to
 * tell the truth about where it runs. With pins, the edge's administrator says it.
 */
import type { NodeRegistration } from '../../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { isInsecureUrl } from '../../shared/transport-security.ts';
import type { NodePin } from './config.ts';

/** Why a registration was refused: a fixed word for the log (no values from the request). */
export type IdentityRefusal = 'operator' | 'jurisdiction' | 'controlOrigin' | 'insecure controlUrl';

export class RegistrationRefused extends TreffpunktError {
  readonly reason: IdentityRefusal;
  constructor(reason: IdentityRefusal, message: string) {
    super(ErrorCode.Forbidden, message);
    this.reason = reason;
  }
}

/**
 * The registration as the edge records it: pinned fields must match (a node that states no jurisdiction
 * gets the pinned one), and a plain http control URL beyond loopback is refused unless the deployment
 * allows it. Throws RegistrationRefused (FORBIDDEN).
 */
export function checkRegistration(
  registration: NodeRegistration,
  pin: NodePin | undefined,
  allowInsecureHttp: boolean,
): NodeRegistration {
  if (pin?.operator !== undefined && registration.operator !== pin.operator) {
    throw new RegistrationRefused(
      'operator',
      "the registration names another operator than this node's credentials on the edge",
    );
  }
  if (
    pin?.jurisdiction !== undefined &&
    registration.jurisdiction !== undefined &&
    registration.jurisdiction !== pin.jurisdiction
  ) {
    throw new RegistrationRefused(
      'jurisdiction',
      "the registration names another jurisdiction than this node's credentials on the edge",
    );
  }
  if (pin?.controlOrigin !== undefined && new URL(registration.controlUrl).origin !== pin.controlOrigin) {
    throw new RegistrationRefused(
      'controlOrigin',
      "the control URL is not at the origin this node's credentials on the edge name",
    );
  }
  if (!allowInsecureHttp && isInsecureUrl(registration.controlUrl)) {
    throw new RegistrationRefused(
      'insecure controlUrl',
      'the control URL must be https (plain http only on loopback, or with TREFFPUNKT_ALLOW_INSECURE_HTTP on the edge)',
    );
  }
  return { ...registration, ...(pin?.jurisdiction !== undefined ? { jurisdiction: pin.jurisdiction } : {}) };
}
