/**
 * One participant's meeting, put together from its parts: the join handshake (join.ts), the connection
 * to the room (connection.ts: socket, keep-alive, reconnect and resume), the roster (roster.ts: who is
 * here, what they send, hands, lobby), the media session (media-session.ts: device, transports, what we
 * send and receive, ICE restarts, TURN renewal, relay fallback, node changes) and the statistics
 * (stats.ts). No DOM here: the UI subscribes to the callbacks (types.ts MeetingCallbacks) and reads
 * `participants`. This class is what the UI, the tests and the benchmarks (window.treffpunkt.meeting)
 * call; it passes each call on to the part that does it.
 */
import type { MediaSource } from '../../../shared/media-types.ts';
import type { JoinResult, Role } from '../../../shared/signaling.ts';
import type { Signaling } from '../signaling.ts';
import { mark } from '../timeline.ts';
import { Connection } from './connection.ts';
import { joinRoom, roomSocketUrls } from './join.ts';
import type { HandoverRecord } from './handover.ts';
import { MediaSession } from './media-session.ts';
import { Roster } from './roster.ts';
import {
  inboundStats,
  receiveLoss,
  sendInfo,
  sendLoss,
  type CandidatePair,
  type InboundStat,
  type SendInfo,
} from './stats.ts';
import type { Direction, JoinOptions, LobbyEntry, MeetingCallbacks, Participant } from './types.ts';

export class Meeting {
  readonly room: string;
  readonly #cb: MeetingCallbacks;
  readonly #roster: Roster;
  readonly #media: MediaSession;
  readonly #connection: Connection;
  #closed = false;

  private constructor(
    room: string,
    urls: readonly string[],
    s: Signaling,
    joined: JoinResult,
    opts: JoinOptions,
    cb: MeetingCallbacks,
  ) {
    this.room = room;
    this.#cb = cb;
    const { name, token } = opts;
    const verified = token !== undefined;
    const media = (): MediaSession => this.#media;
    this.#roster = new Roster(joined, name, verified, cb, {
      producerAdded: (participantId, producerId, source) =>
        void media().receiver.consume(participantId, producerId, source),
      producerGone: (producerId) => media().receiver.forget(producerId),
      participantGone: (participantId) => media().receiver.dropParticipant(participantId),
    });
    this.#media = new MediaSession({
      request: (method, params) => this.#connection.request(method, params),
      roster: this.#roster,
      cb,
      closed: () => this.#connection.closed,
    });
    // Listens at once: events sent right after the join reply must not be lost.
    this.#connection = new Connection(urls, s, joined, {
      listen: (sock) => this.#listen(sock),
      resumed: (result) => {
        this.#media.resumed(result.you?.producers ?? []);
        this.#roster.reconcile(result);
      },
      // The same join as the first (name, token, region): the person is who they were, the room is new.
      rejoin: (url) => joinRoom(url, opts, (cancel) => cb.waiting?.(cancel)),
      rejoined: (result) => {
        const formerId = this.#roster.selfId;
        this.#roster.rejoined(result);
        this.#media.rejoined(result.routerRtpCapabilities, result.transports);
        cb.rejoined?.(formerId);
      },
      state: (state) => {
        cb.connection?.(state);
        if (state === 'connected') this.#media.redoCutOff();
      },
      ended: (code) => {
        this.#close();
        cb.disconnected?.(code);
      },
    });
  }

  static async join(room: string, opts: JoinOptions, cb: MeetingCallbacks): Promise<Meeting> {
    const urls = await roomSocketUrls(room);
    const { s, joined } = await joinRoom(urls[0]!, opts, (cancel) => cb.waiting?.(cancel));
    try {
      const meeting = new Meeting(room, urls, s, joined, opts, cb);
      cb.created?.(meeting);
      await meeting.#media.start(joined.routerRtpCapabilities, joined.transports);
      mark('media-started');
      meeting.#connection.startPings();
      return meeting;
    } catch (err) {
      // The room has admitted us: say goodbye, so that the others see us leave now rather than keep a
      // tile that sees nothing for the resume grace period (issue 15). Bounded: the error is what matters.
      s.onclose = undefined;
      await s.request('leave', {}, 2_000).catch(() => undefined);
      s.close();
      throw err;
    }
  }

  // --- the roster ---

  /** Our participant id in the room; a new one after we joined again (rejoins). */
  get participantId(): string {
    return this.#roster.selfId;
  }

  /** Everyone in the room, this participant included (self: true). */
  get participants(): Map<string, Participant> {
    return this.#roster.participants;
  }

  get self(): Participant {
    return this.#roster.self;
  }

  /** Our role in the room (moderators see the moderation controls; the edge checks every action). */
  get role(): Role {
    return this.#roster.role;
  }

  get isModerator(): boolean {
    return this.role === 'moderator';
  }

  get locked(): boolean {
    return this.#roster.locked;
  }

  /** Who waits in the lobby (known to moderators only). */
  get lobby(): LobbyEntry[] {
    return this.#roster.lobby;
  }

  // --- counts for tests and diagnostics ---

  /** How often the socket was resumed, and how often our media was moved to another node (tests wait on these). */
  get resumes(): number {
    return this.#connection.resumes;
  }

  /** How often the room had forgotten us and we joined it again by ourselves. */
  get rejoins(): number {
    return this.#connection.rejoins;
  }

  /** What each move off a draining node saw when its old transports ended (make-before-break, tests). */
  get handovers(): readonly HandoverRecord[] {
    return this.#media.handover.records;
  }

  get mediaMoves(): number {
    return this.#media.mediaMoves;
  }

  /** ICE restarts done (a broken path on a live node), and TURN credentials renewed. */
  get iceRestarts(): number {
    return this.#media.transports.iceRestarts;
  }

  get turnRenewals(): number {
    return this.#media.transports.turnRenewals;
  }

  /** Transports connected on the node as soon as they were made (dtls-identity.ts). */
  get transportsConnectedAhead(): number {
    return this.#media.transports.connectedAhead;
  }

  // --- sending and receiving ---

  /** Receives everything the others already send; call once the UI is ready for tracks. */
  consumeExisting(): Promise<void> {
    return this.#media.receiver.consumeExisting();
  }

  hasProducer(source: MediaSource): boolean {
    return this.#media.sender.has(source);
  }

  isPaused(source: MediaSource): boolean {
    return this.#media.sender.isPaused(source);
  }

  /** Starts sending a local track; `paused` sends nothing until setPaused(source, false). */
  publish(source: MediaSource, track: MediaStreamTrack, opts: { paused?: boolean } = {}): Promise<void> {
    return this.#media.sender.publish(source, track, Boolean(opts.paused));
  }

  /** Sends another track for a source (a different device, or null while the camera is off). */
  setTrack(source: MediaSource, track: MediaStreamTrack | null): Promise<void> {
    return this.#media.sender.setTrack(source, track);
  }

  /**
   * Mutes or unmutes a source: locally (the track is disabled) and on the server (setProducerPaused:
   * nothing is forwarded, and everyone is told).
   */
  setPaused(source: MediaSource, paused: boolean): Promise<void> {
    return this.#media.sender.setPaused(source, paused);
  }

  /** Stops sending a source (e.g. the screen share) and tells the others. */
  unpublish(source: MediaSource): Promise<void> {
    return this.#media.sender.unpublish(source);
  }

  /**
   * The simulcast layer wanted for a remote camera (0 = lowest): the UI asks for the layer that fits the
   * tile. Requests are only sent when the wish changes; the SFU may still send less under congestion.
   */
  setPreferredLayer(producerId: string, spatialLayer: number): void {
    this.#media.receiver.setPreferredLayer(producerId, spatialLayer);
  }

  /** Tries the media path again after it failed (the "Retry" button of the media banner). */
  retryMedia(): Promise<void> {
    return this.#media.retry();
  }

  /** Restarts ICE on a transport now, whatever its state (diagnostics, and the e2e test of the restart). */
  restartIce(direction: Direction): Promise<void> {
    const tr = this.#media.transport(direction);
    return tr ? this.#media.transports.restartIce(direction, tr, true) : Promise.resolve();
  }

  // --- chat, hand, leave ---

  async sendChat(text: string): Promise<void> {
    await this.#connection.request('chat', { text });
  }

  async setHand(raised: boolean): Promise<void> {
    await this.#connection.request('setHand', { raised });
  }

  async leave(): Promise<void> {
    await this.#connection.leave();
    this.#close();
  }

  /**
   * Gives up the room socket as a network loss would (diagnostics and tests): the meeting reconnects and
   * resumes by itself, with its media untouched.
   */
  dropConnection(): void {
    this.#connection.drop();
  }

  // --- moderation (the edge refuses these with FORBIDDEN unless we moderate) ---

  /** Pauses someone's producers of a source on the server; only they can unmute. */
  async muteParticipant(participantId: string, source: MediaSource): Promise<void> {
    await this.#connection.request('muteParticipant', { participantId, source });
  }

  async askToUnmute(participantId: string, source: MediaSource): Promise<void> {
    await this.#connection.request('askToUnmute', { participantId, source });
  }

  async removeParticipant(participantId: string): Promise<void> {
    await this.#connection.request('removeParticipant', { participantId });
  }

  async lockRoom(locked: boolean): Promise<void> {
    await this.#connection.request('lockRoom', { locked });
  }

  async admit(participantId: string): Promise<void> {
    await this.#connection.request('admit', { participantId });
  }

  async refuse(participantId: string): Promise<void> {
    await this.#connection.request('refuse', { participantId });
  }

  /** Ends the meeting for everyone (the edge closes every other socket with MeetingEnded, and ours). */
  async endMeeting(): Promise<void> {
    this.#connection.leaving = true;
    try {
      await this.#connection.request('endMeeting', {});
    } catch (err) {
      this.#connection.leaving = false;
      throw err;
    }
    this.#close();
  }

  // --- statistics (connection indicator, tests, benchmarks) ---

  /** Receive statistics per remote track. */
  inboundStats(): Promise<InboundStat[]> {
    return inboundStats(this.#media.receiver.consumers);
  }

  /** Receive statistics of the consumers still playing on a node we are leaving (benchmarks: the media gap). */
  oldInboundStats(): Promise<InboundStat[]> {
    return inboundStats(this.#media.receiver.oldConsumers);
  }

  /** Receive loss per remote participant since the last call (stats.ts receiveLoss; the UI is the one caller). */
  receiveLoss(): Promise<Map<string, number>> {
    return receiveLoss(this.#media.receiver.consumers, (participantId, producerId) => {
      const owner = this.participants.get(participantId);
      return owner !== undefined && !owner.producers.get(producerId)?.paused;
    });
  }

  sendInfo(): SendInfo[] {
    return sendInfo(this.#media.sender.producers);
  }

  sendLoss(): Promise<number | undefined> {
    return sendLoss(this.#media.sender.producers);
  }

  candidatePairs(): Promise<CandidatePair[]> {
    return this.#media.candidatePairs();
  }

  #listen(s: Signaling): void {
    this.#roster.listen(s);
    this.#media.listen(s);
    s.on('activeSpeaker', ({ participantId }) => this.#cb.activeSpeaker?.(participantId));
    s.on('chat', (m) =>
      this.#cb.chat?.({
        ...m,
        verified: this.participants.get(m.participantId)?.verified ?? false,
        self: m.participantId === this.participantId,
      }),
    );
    s.on('unmuteRequested', ({ source }) => this.#cb.moderated?.('unmuteRequested', source));
  }

  /** Ends everything here: the socket (if the connection has not closed it already) and the media. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.close();
    this.#media.close();
  }
}
