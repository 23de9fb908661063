/**
 * The media node's TURN service, whichever kind the config asks for: the embedded server, coturn as a child
 * process, or none. Gives node.ts what the edge needs to mint credentials (URLs and the secret) and a close.
 */
import { isIP } from 'node:net';
import type { MediaNodeConfig } from '../config.ts';
import { Coturn } from './coturn.ts';
import { EmbeddedTurnServer, type EmbeddedTurnStats, type TurnLogger } from './embedded-turn.ts';
import { createPeerPolicy } from './peer-policy.ts';

export interface TurnService {
  mode: 'embedded' | 'coturn';
  /** turn: (and turns:) URIs for RTCIceServer.urls, with the port actually bound. */
  urls: string[];
  secret: string;
  port: number;
  stats(): EmbeddedTurnStats | undefined;
  close(): Promise<void>;
}

export async function startTurnService(
  config: MediaNodeConfig,
  log: TurnLogger,
  onFatal: (why: string) => void,
): Promise<TurnService | undefined> {
  const t = config.turn;
  if (t.mode === 'off') return undefined;
  const announced = config.announcedAddress;
  const externalIp = announced && isIP(announced) && announced !== t.relayIp ? announced : undefined;
  const unspecified = t.listenIp === '0.0.0.0' || t.listenIp === '::';
  const host = announced ?? (unspecified ? t.relayIp : t.listenIp);
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  if (t.allowLoopbackPeers) log.warn({}, 'TURN relays to loopback peers (turn-allow-loopback-peers): development only');
  if (t.secretGenerated)
    log.info({}, 'TURN secret generated for this run (set TREFFPUNKT_TURN_SECRET_FILE to keep one)');

  if (t.mode === 'embedded') {
    const protectedPorts = new Set([config.apiPort, ...(t.port ? [t.port] : [])]);
    const server = await EmbeddedTurnServer.start({
      listenIp: t.listenIp,
      port: t.port,
      relayIp: t.relayIp,
      ...(externalIp ? { externalIp } : {}),
      minPort: t.minPort,
      maxPort: t.maxPort,
      secret: t.secret,
      realm: t.realm,
      policy: createPeerPolicy({
        allowLoopback: t.allowLoopbackPeers,
        ownAddresses: [
          t.listenIp,
          t.relayIp,
          config.listenIp,
          ...sfuLoopback(config.listenIp),
          ...(announced && isIP(announced) ? [announced] : []),
        ],
        sfuPorts: Array.from({ length: config.workers }, (_, i) => config.rtcPort + i),
        protectedPorts,
      }),
      userQuota: t.userQuota,
      totalQuota: t.totalQuota,
      maxLifetimeSeconds: t.maxLifetimeSeconds,
      nonceLifetimeSeconds: t.nonceLifetimeSeconds,
      log,
    });
    protectedPorts.add(server.port); // with port 0 known only now
    return {
      mode: 'embedded',
      urls: [`turn:${urlHost}:${server.port}?transport=udp`],
      secret: t.secret,
      port: server.port,
      stats: () => server.stats(),
      close: () => server.close(),
    };
  }

  const tlsHost = t.tls?.host ?? host;
  const coturn = await Coturn.start({
    bin: t.coturnBin,
    listenIp: t.listenIp,
    port: t.port,
    relayIp: t.relayIp,
    ...(externalIp ? { externalIp } : {}),
    minPort: t.minPort,
    maxPort: t.maxPort,
    secret: t.secret,
    realm: t.realm,
    allowLoopback: t.allowLoopbackPeers,
    userQuota: t.userQuota,
    totalQuota: t.totalQuota,
    maxLifetimeSeconds: t.maxLifetimeSeconds,
    nonceLifetimeSeconds: t.nonceLifetimeSeconds,
    expirySweepSeconds: t.expirySweepSeconds,
    ...(t.tls ? { tls: { ...t.tls, host: tlsHost } } : {}),
    log,
    onExit: (code, signal) => onFatal(`coturn exited (${signal ?? code})`),
  });
  return {
    mode: 'coturn',
    urls: [
      `turn:${urlHost}:${t.port}?transport=udp`,
      `turn:${urlHost}:${t.port}?transport=tcp`,
      ...(t.tls ? [`turns:${isIP(tlsHost) === 6 ? `[${tlsHost}]` : tlsHost}:${t.tls.port}?transport=tcp`] : []),
    ],
    secret: t.secret,
    port: t.port,
    stats: () => undefined,
    close: () => coturn.stop(),
  };
}

/** An SFU listening on every address listens on loopback too, so its ports there are the node's own. */
function sfuLoopback(listenIp: string): string[] {
  if (listenIp === '0.0.0.0') return ['127.0.0.1'];
  if (listenIp === '::') return ['::1'];
  return [];
}
