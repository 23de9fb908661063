/**
 * Checks at start that something answers at the address this node announces to browsers (issue 13,
 * "Wrong settings are silent"): with a wrong TREFFPUNKT_NODE_ANNOUNCED_ADDRESS every ICE check fails,
 * users get a misleading "relay"/"firewall" message and black tiles, and the operator saw nothing. A TCP
 * connect to the first WebRtcServer's TCP port (every worker listens on UDP and TCP) tells whether the
 * address leads here. Only a warning: behind a NAT without hairpinning the node cannot reach its own
 * public address even when it is right.
 */
import { connect } from 'node:net';
import type { Logger } from '../shared/logger.ts';

/** Whether a TCP connection to host:port opens within `timeoutMs`. */
export function tcpAnswers(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Logs an error when nothing answers at the announced address; returns whether something did. */
export async function checkAnnouncedAddress(
  address: string,
  rtcPort: number,
  log: Logger,
  probe: (host: string, port: number) => Promise<boolean> = tcpAnswers,
): Promise<boolean> {
  if (await probe(address, rtcPort)) return true;
  log.error(
    { announcedAddress: address, port: rtcPort, protocol: 'tcp' },
    'nothing answers at the address this node announces for media: browsers will not reach it. Check TREFFPUNKT_NODE_ANNOUNCED_ADDRESS and TREFFPUNKT_NODE_LISTEN_IP (behind a NAT without hairpinning this check cannot tell)',
  );
  return false;
}
