/**
 * One participant's meeting: the WebSocket signaling, the mediasoup-client device with a send and a
 * receive transport, the local producers and the consumers of everyone else. No DOM here: the UI
 * subscribes to the callbacks.
 */
import { Device, type types } from 'mediasoup-client';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import type { MediaKind, MediaSource, TransportOptions } from '../../shared/media-types.ts';
import type { ParticipantInfo } from '../../shared/signaling.ts';
import { Signaling } from './signaling.ts';

export interface MeetingCallbacks {
  participantJoined(p: { id: string; name: string }): void;
  participantLeft(id: string): void;
  trackAdded(participantId: string, track: MediaStreamTrack, source: MediaSource): void;
  trackRemoved(participantId: string, track: MediaStreamTrack): void;
  disconnected(): void;
}

interface RemoteConsumer {
  consumer: types.Consumer;
  participantId: string;
  kind: MediaKind;
}

export class Meeting {
  readonly participantId: string;
  readonly #signaling: Signaling;
  readonly #device: Device;
  readonly #recv: types.Transport;
  readonly #send: types.Transport;
  readonly #cb: MeetingCallbacks;
  readonly #producers = new Map<MediaSource, types.Producer>();
  /** producerId → what we receive of it. */
  readonly #consumers = new Map<string, RemoteConsumer>();
  #leaving = false;

  private constructor(s: Signaling, device: Device, send: types.Transport, recv: types.Transport, participantId: string, cb: MeetingCallbacks) {
    this.#signaling = s;
    this.#device = device;
    this.#send = send;
    this.#recv = recv;
    this.participantId = participantId;
    this.#cb = cb;
  }

  static async join(room: string, name: string, cb: MeetingCallbacks): Promise<{ meeting: Meeting; participants: ParticipantInfo[] }> {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const s = await Signaling.open(`${scheme}//${location.host}/rooms/${encodeURIComponent(room)}/ws`);
    try {
      const joined = await s.request('join', { protocolVersion: PROTOCOL_VERSION, name });
      const device = new Device();
      await device.load({ routerRtpCapabilities: joined.routerRtpCapabilities as types.RtpCapabilities });
      const send = device.createSendTransport(asTransportOptions(await s.request('createTransport', { direction: 'send' })));
      const recv = device.createRecvTransport(asTransportOptions(await s.request('createTransport', { direction: 'recv' })));
      for (const t of [send, recv]) {
        t.on('connect', ({ dtlsParameters }, ok, fail) => {
          s.request('connectTransport', { transportId: t.id, dtlsParameters: dtlsParameters as never }).then(() => ok(), fail);
        });
      }
      send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
        const source = (appData as { source: MediaSource }).source;
        s.request('produce', { transportId: send.id, kind, rtpParameters: rtpParameters as never, source }).then(({ producerId }) => ok({ id: producerId }), fail);
      });
      const meeting = new Meeting(s, device, send, recv, joined.participantId, cb);
      meeting.#listen();
      return { meeting, participants: joined.participants };
    } catch (err) {
      s.close();
      throw err;
    }
  }

  /** Starts sending a local track (camera, microphone or screen). */
  async publish(track: MediaStreamTrack, source: MediaSource): Promise<void> {
    if (!this.#device.canProduce(track.kind as MediaKind)) return;
    const producer = await this.#send.produce({ track, appData: { source }, stopTracks: false });
    this.#producers.set(source, producer);
  }

  /** Mutes or unmutes a published source locally (the track sends silence/black frames while paused). */
  setPaused(source: MediaSource, paused: boolean): void {
    const p = this.#producers.get(source);
    if (p) paused ? p.pause() : p.resume();
  }

  /** Receives a remote producer; called for everyone present at join and for each producerAdded. */
  async consume(participantId: string, producerId: string, source: MediaSource): Promise<void> {
    const c = await this.#signaling.request('consume', {
      transportId: this.#recv.id,
      producerId,
      rtpCapabilities: this.#device.recvRtpCapabilities as never,
    });
    const consumer = await this.#recv.consume({ id: c.consumerId, producerId, kind: c.kind, rtpParameters: c.rtpParameters as types.RtpParameters });
    this.#consumers.set(producerId, { consumer, participantId, kind: c.kind });
    this.#cb.trackAdded(participantId, consumer.track, source);
    await this.#signaling.request('resumeConsumer', { consumerId: c.consumerId });
  }

  async leave(): Promise<void> {
    this.#leaving = true;
    await this.#signaling.request('leave', {}).catch(() => undefined);
    this.#close();
  }

  /** Receive statistics per remote track, for the connection indicator and for tests. */
  async inboundStats(): Promise<{ participantId: string; kind: MediaKind; packetsReceived: number; framesDecoded: number; totalSamplesReceived: number }[]> {
    const out = [];
    for (const { consumer, participantId, kind } of this.#consumers.values()) {
      let packetsReceived = 0;
      let framesDecoded = 0;
      let totalSamplesReceived = 0;
      (await consumer.getStats()).forEach((s: { type: string; packetsReceived?: number; framesDecoded?: number; totalSamplesReceived?: number }) => {
        if (s.type !== 'inbound-rtp') return;
        packetsReceived += s.packetsReceived ?? 0;
        framesDecoded += s.framesDecoded ?? 0;
        totalSamplesReceived += s.totalSamplesReceived ?? 0;
      });
      out.push({ participantId, kind, packetsReceived, framesDecoded, totalSamplesReceived });
    }
    return out;
  }

  #listen(): void {
    const s = this.#signaling;
    s.on('participantJoined', ({ participant }) => this.#cb.participantJoined(participant));
    s.on('participantLeft', ({ participantId }) => {
      for (const [producerId, c] of this.#consumers) if (c.participantId === participantId) this.#dropConsumer(producerId);
      this.#cb.participantLeft(participantId);
    });
    s.on('producerAdded', ({ participantId, producerId, source }) => {
      this.consume(participantId, producerId, source).catch((err) => console.warn('treffpunkt: consume failed', err));
    });
    s.on('producerClosed', ({ producerId }) => this.#dropConsumer(producerId));
    s.onclose = () => {
      this.#close();
      if (!this.#leaving) this.#cb.disconnected();
    };
  }

  #dropConsumer(producerId: string): void {
    const c = this.#consumers.get(producerId);
    if (!c) return;
    this.#consumers.delete(producerId);
    c.consumer.close();
    this.#cb.trackRemoved(c.participantId, c.consumer.track);
  }

  #close(): void {
    for (const p of this.#producers.values()) p.close();
    this.#producers.clear();
    this.#send.close();
    this.#recv.close();
    this.#signaling.close();
  }
}

function asTransportOptions(t: TransportOptions): types.TransportOptions {
  return t as unknown as types.TransportOptions;
}
