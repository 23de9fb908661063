/**
 * The page's DTLS certificate, made once by the page itself (RTCPeerConnection.generateCertificate) and
 * given to every transport's peer connection. Knowing its fingerprint before the browser writes any
 * SDP lets a transport be connected on the media node (connectTransport) right after it is made, in
 * parallel with everything else, instead of when mediasoup-client first asks ('connect', at the first
 * produce or consume): the browser's ICE checks wait for that answer, so it cost a round trip through
 * the edge on both transports' way to "connected" and on the first produce and consume (issue 14).
 * mediasoup-client makes the browser the DTLS client on both transports (its handlers' default when the
 * node says 'auto'), so the role is known too.
 *
 * If a browser ignored the certificate, the 'connect' that mediasoup-client emits carries another
 * fingerprint: transport-factory.ts then fails that transport (it is made again) and stops connecting
 * ahead for the rest of the page's life.
 */
import type { DtlsParameters } from '../../../shared/media-types.ts';
import { diagnostics } from '../diagnostics.ts';

let certificate: Promise<RTCCertificate | undefined> | undefined;
/** Cleared when a browser did not use our certificate: connect when mediasoup-client asks, as before. */
let usable = true;

/** The page's certificate, or undefined where it cannot be made (then transports connect when asked). */
export function dtlsCertificate(): Promise<RTCCertificate | undefined> {
  if (!usable || !diagnostics.connectAhead || typeof RTCPeerConnection?.generateCertificate !== 'function')
    return Promise.resolve(undefined);
  certificate ??= RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256' } as EcKeyGenParams)
    .then((c) => c as RTCCertificate | undefined)
    .catch((err: unknown) => {
      console.warn('treffpunkt: cannot make a DTLS certificate; transports connect when first used', err);
      return undefined;
    });
  return certificate;
}

/** What mediasoup-client will send in 'connect' for a peer connection that uses `cert`. */
export function dtlsParametersOf(cert: RTCCertificate): DtlsParameters {
  return {
    role: 'client',
    // SDP writes fingerprints in upper case; some getFingerprints() give lower case.
    fingerprints: cert
      .getFingerprints()
      .map((f) => ({ algorithm: f.algorithm ?? 'sha-256', value: (f.value ?? '').toUpperCase() })),
  };
}

/** Whether mediasoup-client's 'connect' parameters are the ones the node was given ahead. */
export function sameDtlsParameters(a: DtlsParameters, ahead: DtlsParameters): boolean {
  const key = (p: DtlsParameters) => p.fingerprints.map((f) => `${f.algorithm.toLowerCase()} ${f.value.toUpperCase()}`);
  const given = new Set(key(ahead));
  return (a.role ?? 'auto') === ahead.role && key(a).some((k) => given.has(k));
}

/** The browser did not use our certificate: from now on transports connect when mediasoup-client asks. */
export function stopConnectingAhead(): void {
  usable = false;
}
