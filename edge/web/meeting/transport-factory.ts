/**
 * Makes the WebRTC transports and keeps their ICE path alive. A transport gets the media node's TURN
 * servers (createTransport's `iceServers`). A path that worked and broke (a network change) gets an ICE
 * restart on the same transport, so producers and consumers stay; TURN credentials expire, and every
 * relay made with them ends then, so they are renewed by an ICE restart too. A transport that never
 * connects, or whose restart does not bring the path back, is reported failed: the media session makes
 * it again relay-only (media-session.ts), with TURN over TLS added (media-paths.ts).
 */
import type { Device, types } from 'mediasoup-client';
import type { MediaSource } from '../../../shared/media-types.ts';
import type { JoinTransport } from '../../../shared/signaling.ts';
import { diagnostics } from '../diagnostics.ts';
import { mark } from '../timeline.ts';
import { dtlsCertificate, dtlsParametersOf, sameDtlsParameters, stopConnectingAhead } from './dtls-identity.ts';
import { iceServersFor, MEDIA_PATHS, type IcePath, pathsTried } from './media-paths.ts';
import type { Direction, MediaContext } from './types.ts';

/**
 * A transport that has not connected this long after it started connecting counts as failed, and the
 * media session makes it again relay-only (with TURN/TLS, media-paths.ts). A few seconds (issue 16): a
 * working path connects within one or two seconds even on a busy machine, and someone behind a firewall
 * that lets only TCP 443 through should not wait long. A relay-only transport that fails too means the
 * network blocks media, which the page says (data-media="mediaFailed"): both timeouts together keep
 * that within 15 s of joining.
 */
const CONNECT_TIMEOUT_MS = 5_000;
const RELAY_CONNECT_TIMEOUT_MS = 6_000;
/** A connected transport that is 'disconnected' this long gets an ICE restart ('failed': at once). */
const ICE_RESTART_AFTER_MS = 2_000;
/** After an ICE restart, how long the path may take to come back before the transport is made anew. */
const ICE_RESTART_TIMEOUT_MS = 10_000;
/**
 * TURN credentials expire, and every allocation made with them ends then (docs/turn.md, "Credential
 * lifetime"). A transport with TURN servers therefore restarts ICE at a random point between these
 * fractions of the credentials' lifetime; the restart brings new credentials and new allocations. Random,
 * so that a participant's two transports (and a room's participants) do not renew at the same moment.
 */
const RENEW_FROM = 0.6;
const RENEW_TO = 0.8;

/** What the media session tells the factory, and is told by it. */
export interface TransportHooks {
  /** The transport of that direction now (a restart of a replaced one is pointless). */
  current(direction: Direction): types.Transport | undefined;
  /** It never connected, or its ICE restart failed: make it again (relay-only). */
  failed(direction: Direction, tr: types.Transport): void;
}

export class TransportFactory {
  /** ICE restarts done (a broken path on a live node), and TURN credentials renewed: for tests and diagnostics. */
  iceRestarts = 0;
  turnRenewals = 0;
  /** Transports connected on the node right after they were made (dtls-identity.ts): for tests. */
  connectedAhead = 0;
  /** Every transport made so far and the paths it tried (the diagnostics: data-media-tried). */
  readonly tried: { direction: Direction; policy: RTCIceTransportPolicy; paths: IcePath[] }[] = [];
  readonly #ctx: MediaContext;
  readonly #device: () => Device;
  readonly #hooks: TransportHooks;
  /** The policy each transport was made with. */
  readonly #policy = new WeakMap<types.Transport, RTCIceTransportPolicy>();
  /** Transports whose ICE restart is under way (one at a time each). */
  readonly #iceRestarting = new Set<types.Transport>();
  /** Each transport's pending renewal of its TURN credentials. */
  readonly #renewTimers = new Map<types.Transport, ReturnType<typeof setTimeout>>();

  constructor(ctx: MediaContext, device: () => Device, hooks: TransportHooks) {
    this.#ctx = ctx;
    this.#device = device;
    this.#hooks = hooks;
  }

  /** Every path any transport tried so far, in media-paths.ts order (for the diagnostics). */
  triedPaths(): IcePath[] {
    const all = new Set(this.tried.flatMap((t) => t.paths));
    return MEDIA_PATHS.filter((p) => all.has(p));
  }

  policyOf(tr: types.Transport): RTCIceTransportPolicy | undefined {
    return this.#policy.get(tr);
  }

  /** `made`: the transport the join made (JoinMedia), used instead of asking for one. */
  async create(direction: Direction, policy: RTCIceTransportPolicy, made?: JoinTransport): Promise<types.Transport> {
    const { request } = this.#ctx;
    const [opts, cert] = await Promise.all([made ?? request('createTransport', { direction }), dtlsCertificate()]);
    // Our DTLS parameters are known now (our own certificate): the node gets them at once, not at the
    // first produce or consume (dtls-identity.ts). 'connect' below then waits for this answer only.
    // A transport the join made was connected with them already.
    const ahead = cert ? dtlsParametersOf(cert) : undefined;
    const connecting = !ahead
      ? undefined
      : made?.connected
        ? Promise.resolve({})
        : request('connectTransport', { transportId: opts.id, dtlsParameters: ahead as never });
    connecting?.catch(() => undefined); // reported through 'connect' (or the transport is gone)
    const iceCandidates = diagnostics.tcpOnly
      ? opts.iceCandidates.filter((c) => c.protocol === 'tcp')
      : opts.iceCandidates;
    const iceServers = iceServersFor(opts.iceServers, policy);
    this.tried.push({ direction, policy, paths: pathsTried(iceCandidates, iceServers, policy) });
    if (this.tried.length > 16) this.tried.shift(); // node moves make new transports: keep the latest
    const options = {
      id: opts.id,
      iceParameters: opts.iceParameters,
      iceCandidates,
      dtlsParameters: opts.dtlsParameters,
      iceServers,
      iceTransportPolicy: policy,
      ...(cert ? { additionalSettings: { certificates: [cert] } } : {}),
    } as unknown as types.TransportOptions;
    const device = this.#device();
    const tr = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    this.#policy.set(tr, policy);
    mark(`${direction}-transport-made`);
    tr.observer.once('close', () => {
      clearTimeout(this.#renewTimers.get(tr));
      this.#renewTimers.delete(tr);
    });
    this.#scheduleRenewal(direction, tr, opts.iceServers.length ? opts.iceServersExpireIn : undefined);
    // From its first use, a transport has CONNECT_TIMEOUT_MS to connect (ICE may also never start, when
    // no candidate is usable: the state then stays 'new').
    let timer: ReturnType<typeof setTimeout> | undefined;
    tr.on('connect', ({ dtlsParameters }, ok, fail) => {
      mark(`${direction}-connect`);
      timer ??= setTimeout(
        () => tr.connectionState !== 'connected' && this.#hooks.failed(direction, tr),
        policy === 'relay' ? RELAY_CONNECT_TIMEOUT_MS : CONNECT_TIMEOUT_MS,
      );
      if (ahead && connecting) {
        if (sameDtlsParameters(dtlsParameters as never, ahead)) {
          this.connectedAhead++;
          return void connecting.then(() => ok(), fail);
        }
        // The browser did not use our certificate: the node expects another fingerprint. This transport
        // cannot connect (the connect timeout makes it again); later ones connect when asked.
        stopConnectingAhead();
        console.warn(`treffpunkt: the ${direction} transport does not use the page's DTLS certificate`);
        return fail(new Error('the browser did not use the DTLS certificate it was given'));
      }
      request('connectTransport', { transportId: tr.id, dtlsParameters: dtlsParameters as never }).then(
        () => ok(),
        fail,
      );
    });
    if (direction === 'send') {
      tr.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
        const source = (appData as { source: MediaSource }).source;
        mark(`produce-asked-${source}`);
        request('produce', { transportId: tr.id, kind, rtpParameters: rtpParameters as never, source }).then(
          ({ producerId }) => ok({ id: producerId }),
          fail,
        );
      });
    }
    let wasConnected = false;
    let restartTimer: ReturnType<typeof setTimeout> | undefined;
    tr.on('connectionstatechange', (state) => {
      if (state === 'connected' || state === 'closed') clearTimeout(timer);
      if (state === 'connected') {
        mark(`${direction}-connected`);
        wasConnected = true;
        clearTimeout(restartTimer);
      }
      // A path that worked and broke (network change, Wi-Fi to LTE): 'disconnected' may heal by itself,
      // so wait a moment, then restart ICE on the same transport — producers and consumers stay.
      if (wasConnected && (state === 'disconnected' || state === 'failed') && !this.#iceRestarting.has(tr)) {
        clearTimeout(restartTimer);
        restartTimer = setTimeout(
          () => void this.restartIce(direction, tr),
          state === 'failed' ? 0 : ICE_RESTART_AFTER_MS,
        );
        return;
      }
      // Never connected: the direct path is blocked; make it again through TURN.
      if (state === 'failed') this.#hooks.failed(direction, tr);
    });
    return tr;
  }

  /**
   * New ICE credentials (and TURN credentials) from the node for the same transport. If the path does
   * not come back within ICE_RESTART_TIMEOUT_MS (or the restart fails), the transport is reported failed.
   * `evenIfConnected`: restart a healthy path too (a renewal, diagnostics, the e2e test of the restart).
   */
  async restartIce(
    direction: Direction,
    tr: types.Transport,
    evenIfConnected = false,
    why: 'broken' | 'renew' = 'broken',
  ): Promise<void> {
    if (
      this.#ctx.closed() ||
      tr !== this.#hooks.current(direction) ||
      tr.closed ||
      (tr.connectionState === 'connected' && !evenIfConnected) ||
      this.#iceRestarting.has(tr)
    )
      return;
    this.#iceRestarting.add(tr);
    try {
      if (why === 'renew')
        console.info(`treffpunkt: renewing the ${direction} transport's TURN credentials (ICE restart)`);
      else console.warn(`treffpunkt: the ${direction} media path broke; restarting ICE`);
      const { iceParameters, iceServers, iceServersExpireIn } = await this.#ctx.request('restartIce', {
        transportId: tr.id,
      });
      // New TURN credentials first, so that the restart gathers relay candidates with them.
      if (iceServers?.length)
        await tr.updateIceServers({
          iceServers: iceServersFor(iceServers, this.#policy.get(tr) ?? 'all') as RTCIceServer[],
        });
      await tr.restartIce({ iceParameters: iceParameters as types.IceParameters });
      this.#scheduleRenewal(direction, tr, iceServers?.length ? iceServersExpireIn : undefined);
      this.iceRestarts++;
      const deadline = Date.now() + ICE_RESTART_TIMEOUT_MS;
      const back = (): boolean => tr.closed || (tr.connectionState as string) === 'connected';
      while (!back() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      if (!back()) throw new Error('ICE did not come back');
    } catch (err) {
      console.warn(`treffpunkt: ICE restart of the ${direction} transport failed`, err);
      this.#hooks.failed(direction, tr);
    } finally {
      this.#iceRestarting.delete(tr);
    }
  }

  /** Renews the transport's TURN credentials (an ICE restart) before they expire in `expireIn` seconds. */
  #scheduleRenewal(direction: Direction, tr: types.Transport, expireIn: number | undefined): void {
    clearTimeout(this.#renewTimers.get(tr));
    this.#renewTimers.delete(tr);
    if (!expireIn || tr.closed) return;
    const ms = expireIn * 1000 * (RENEW_FROM + Math.random() * (RENEW_TO - RENEW_FROM));
    this.#renewTimers.set(
      tr,
      setTimeout(() => {
        this.#renewTimers.delete(tr);
        this.turnRenewals++;
        void this.restartIce(direction, tr, true, 'renew');
      }, ms),
    );
  }
}
