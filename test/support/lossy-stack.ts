/**
 * A meeting over a bad network: the stack (Node edge, one media node) on the host, one Chromium inside a
 * network namespace (test/support/lossy-link.ts) whose incoming UDP can be dropped at random or rate-capped.
 * The pages reach the edge and the media node at the host's end of the veth pair; the fake microphone
 * plays a speech-like signal that is never silent, so concealment is measured on sound, not on silence.
 * Used by test/e2e/bad-network.test.ts and test/bench/loss.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { inboundStats, launchChromium, speechLikeWav, type Chromium, type InboundStat } from './browser.ts';
import { createNetns, type Netns } from './lossy-link.ts';
import { startStack, type Stack } from './stack.ts';
import { waitFor } from './poll.ts';

export interface LossyStack {
  net: Netns;
  stack: Stack;
  chromium: Chromium;
  /** The edge as the pages in the namespace reach it. */
  edgeUrl: string;
  stop(): Promise<void>;
}

export async function startLossyStack(): Promise<LossyStack> {
  const net = createNetns();
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-loss-'));
  let stack: Stack | undefined;
  let chromium: Chromium | undefined;
  const stop = async () => {
    await chromium?.close().catch(() => undefined);
    await stack?.stop();
    net.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    stack = await startStack({
      runtime: 'node',
      workers: 1,
      // The edge on every address, so that the namespace reaches it (the media node and the test use loopback).
      edgeEnv: { TREFFPUNKT_EDGE_HOST: '0.0.0.0' },
      mediaNodeEnv: { TREFFPUNKT_NODE_LISTEN_IP: net.hostIp },
    });
    const edgeUrl = stack.edgeUrl.replace('127.0.0.1', net.hostIp);
    chromium = await launchChromium({
      executablePath: net.chromiumPath,
      args: [
        // getUserMedia needs a secure context; plain http is one only on loopback.
        `--unsafely-treat-insecure-origin-as-secure=${edgeUrl}`,
        `--use-file-for-fake-audio-capture=${speechLikeWav(join(dir, 'speech.wav'))}`,
      ],
    });
    return { net, stack, chromium, edgeUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The receive statistics of one remote source on a page, once it exists. */
export function statOf(page: Page, participant: string, source: InboundStat['source']): Promise<InboundStat> {
  return waitFor(
    `${source} of ${participant} on the page`,
    async () => (await inboundStats(page)).find((s) => s.participantId === participant && s.source === source),
    30_000,
    200,
  );
}

/** Waits until at least `seconds` more audio of `participant` has been received, then returns the stat. */
export async function afterAudio(page: Page, participant: string, seconds: number): Promise<InboundStat> {
  const start = (await statOf(page, participant, 'microphone')).totalSamplesReceived;
  return waitFor(
    `${seconds} s of audio from ${participant}`,
    async () => {
      const s = await statOf(page, participant, 'microphone');
      return s.totalSamplesReceived - start >= seconds * 48_000 ? s : undefined;
    },
    // Generous: a loaded machine plays audio in real time, but the page may start late.
    seconds * 4_000 + 30_000,
    250,
  );
}

/** Concealed share of the audio received between two stats of the same source (0-1). */
export function concealedShare(before: InboundStat, after: InboundStat): number {
  const samples = after.totalSamplesReceived - before.totalSamplesReceived;
  return samples > 0 ? (after.concealedSamples - before.concealedSamples) / samples : 0;
}

/** The spatial layer the SFU now sends on a consumer (media node diagnostics), or undefined before it sends. */
export async function sentLayer(stack: Stack, room: string, consumerId: string): Promise<number | undefined> {
  const res = await stack.controlFetch(`/v1/rooms/${room}/consumers/${consumerId}/stats`);
  if (!res.ok) return undefined;
  const body = (await res.json()) as { currentLayers: { spatialLayer: number } | null };
  return body.currentLayers?.spatialLayer;
}
