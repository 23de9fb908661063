/**
 * What a room's media tells the edge (docs/protocol.md, media events): who the dominant speaker is, and
 * how well each producer arrives (its score). The edge forwards both to the participants.
 */
import type { types } from 'mediasoup';
import type { MediaEvent } from '../shared/control.ts';

/** Where one room's observations go (to the edge, through registration.ts). */
export type RoomEventSink = (event: MediaEvent) => void;

/** How often the active speaker observer decides (ms). */
const ACTIVE_SPEAKER_INTERVAL_MS = 300;

/** A producer's score goes to the edge at most this often (scores can change several times a second). */
const SCORE_INTERVAL_MS = 1_000;

export class RoomObservers {
  readonly #activeSpeaker: types.ActiveSpeakerObserver;
  readonly #emit: RoomEventSink;

  private constructor(activeSpeaker: types.ActiveSpeakerObserver, emit: RoomEventSink) {
    this.#activeSpeaker = activeSpeaker;
    this.#emit = emit;
  }

  /** The observers of a new router; they close with it. */
  static async create(router: types.Router, emit: RoomEventSink): Promise<RoomObservers> {
    // The SFU decides who speaks: the dominant speaker over a few hundred ms, not the loudest packet.
    const activeSpeaker = await router.createActiveSpeakerObserver({ interval: ACTIVE_SPEAKER_INTERVAL_MS });
    activeSpeaker.on('dominantspeaker', ({ producer }) => emit({ type: 'activeSpeaker', producerId: producer.id }));
    return new RoomObservers(activeSpeaker, emit);
  }

  /**
   * Watches a producer that a participant sends to this node. Not for producers piped in from another
   * node: the node the producer lives on observes and scores it.
   */
  async observe(producer: types.Producer): Promise<void> {
    if (producer.kind === 'audio') await this.#activeSpeaker.addProducer({ producerId: producer.id });
    this.#reportScores(producer);
  }

  /** A producer's score (the worst of its streams) whenever it changes, at most once per SCORE_INTERVAL_MS. */
  #reportScores(producer: types.Producer): void {
    let sent = -1;
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      if (producer.closed) return;
      const score = producer.score.length ? Math.min(...producer.score.map((s) => s.score)) : 0;
      if (score !== sent) {
        sent = score;
        this.#emit({ type: 'producerScore', producerId: producer.id, score });
      }
    };
    producer.on('score', () => {
      timer ??= setTimeout(flush, SCORE_INTERVAL_MS);
    });
    producer.observer.on('close', () => clearTimeout(timer));
  }
}
