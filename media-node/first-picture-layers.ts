/**
 * A simulcast consumer starts on the lowest spatial layer and takes the wished one once it has sent its
 * first picture (issue 14).
 *
 * Why: a browser's new send path starts with a low bandwidth estimate, so libwebrtc sends a first key
 * frame on every simulcast layer and then stops the upper ones for a while. mediasoup aims a new consumer
 * at the highest layer it has seen (or the one the client wished for), asks that layer for a key frame
 * that does not come, and sends nothing until the layer is found inactive. After a media node's failover
 * every sender's path is new: traced on this machine, such consumers sent their first packet 1.9–2.7 s
 * after their resume while the lowest layer was flowing all along (docs/benchmarks.md). The lowest layer
 * is always sent. Once a consumer has sent a picture, mediasoup switches it up only on a key frame of the
 * upper layer and keeps the lower one flowing meanwhile, so taking the wish then costs no gap.
 */
import type { types } from 'mediasoup';

/** What a consumer starts on when its producer is simulcast. */
export const FIRST_PICTURE_LAYERS: types.ConsumerLayers = { spatialLayer: 0 };

/**
 * The wish of a consumer whose client wished nothing: the protocol's top layer (shared/control.ts),
 * which mediasoup lowers to the consumer's own top layer. That is mediasoup's default.
 */
const HIGHEST: types.ConsumerLayers = { spatialLayer: 2 };

export class FirstPictureLayers {
  /** Consumers that have not sent a picture yet, with the layers wished for them meanwhile. */
  readonly #pending = new Map<types.Consumer, types.ConsumerLayers>();

  /** Whether a consumer of `producer` starts on FIRST_PICTURE_LAYERS (then call `watch` with it). */
  static applies(producer: types.Producer): boolean {
    return producer.kind === 'video' && producer.type === 'simulcast';
  }

  /** A consumer made with FIRST_PICTURE_LAYERS: its wish is applied when its first layers are chosen. */
  watch(consumer: types.Consumer): void {
    if (consumer.type !== 'simulcast') return;
    this.#pending.set(consumer, HIGHEST);
    const onLayers = (layers?: types.ConsumerLayers) => {
      // undefined: nothing is sent (paused, or no layer usable): not a picture yet.
      if (!layers) return;
      const wish = this.#pending.get(consumer);
      this.#pending.delete(consumer);
      consumer.off('layerschange', onLayers);
      if (wish && !consumer.closed) void consumer.setPreferredLayers(wish).catch(() => undefined);
    };
    consumer.on('layerschange', onLayers);
    consumer.observer.once('close', () => this.#pending.delete(consumer));
  }

  /** The client's wish: kept until the consumer's first picture, applied at once after it. */
  async setPreferred(consumer: types.Consumer, layers: types.ConsumerLayers): Promise<void> {
    if (this.#pending.has(consumer)) {
      this.#pending.set(consumer, layers);
      return;
    }
    await consumer.setPreferredLayers(layers);
  }

  /** Whether the consumer still waits for its first picture (for tests and diagnostics). */
  waiting(consumer: types.Consumer): boolean {
    return this.#pending.has(consumer);
  }
}
