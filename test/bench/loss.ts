/**
 * Bad-network benchmark (issue 13): measured, not asserted. The stack on the host, one Chromium in a
 * network namespace (test/support/lossy-stack.ts); Ada sends camera (360p, two simulcast layers) and a
 * speech-like microphone, Ben receives only. Random loss is applied to every UDP packet entering the
 * namespace (so to what Ben receives; Ada's uplink is clean).
 *
 *   - For each audio configuration — "protected" (Opus in-band FEC + DTX, the default) and "plain"
 *     (?audio=plain: neither), same run — and each loss of 0, 5, 10, 20 %: after a warm-up, Ben's audio
 *     concealment (concealedSamples / totalSamplesReceived) and video freezes per minute (freezeCount)
 *     over --seconds of received audio.
 *   - Rate cap: Ada sends 720p (three layers), Ben shows her in the speaker view (the SFU sends the top
 *     layer); then Ben's downlink is capped (tc tbf, --cap kbit/s) and the time until the SFU sends a lower
 *     spatial layer is measured (media node diagnostics, polled every 200 ms), --runs times each with a
 *     deep (200 ms) and a shallow (20 ms) tbf queue; and once more with the cap on Ada's uplink instead.
 *
 *   node test/bench/loss.ts [--seconds 20] [--cap 500] [--runs 3] [--part all|loss|cap]   (root: netns, nft, tc)
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { joinMeeting, participantId } from '../support/browser.ts';
import { afterAudio, concealedShare, sentLayer, startLossyStack, statOf } from '../support/lossy-stack.ts';
import { waitFor } from '../support/poll.ts';
import { machineInfo, positiveInt } from './support.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    cap: { type: 'string', default: '500' },
    runs: { type: 'string', default: '3' },
    part: { type: 'string', default: 'all' },
  },
});
const seconds = positiveInt('--seconds', values.seconds, 5);
const capKbit = positiveInt('--cap', values.cap, 50);
const runs = positiveInt('--runs', values.runs, 1);
if (!['all', 'loss', 'cap'].includes(values.part)) throw new Error('--part must be all, loss or cap');
const part = { loss: values.part !== 'cap', cap: values.part !== 'loss' };
const LOSSES = [0, 5, 10, 20];
/** libwebrtc's Opus encoder averages the reported loss over ~10 s before it protects more. */
const WARM_UP_S = 15;
/**
 * Where the cap goes: Ben's downlink with a home router's deep buffer (the cap shows as delay first) or a
 * shallow one (loss at once), or Ada's uplink (her browser's own estimate must drop the top layer).
 */
const CAPS: [string, (kbit: number | null) => void][] = [
  ["Ben's downlink, 200 ms queue", (kbit) => net.setRateCap(kbit, 200)],
  ["Ben's downlink, 20 ms queue", (kbit) => net.setRateCap(kbit, 20)],
  ["Ada's uplink, 200 ms queue", (kbit) => net.setUplinkCap(kbit, 200)],
];

console.log(
  `loss benchmark: ${seconds} s per cell, cap ${capKbit} kbit/s × ${runs}; ${JSON.stringify(machineInfo())}; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

const lossy = await startLossyStack();
const { net, stack, chromium, edgeUrl } = lossy;
let room = 0;

async function meeting(adaQuery: string) {
  const name = `loss-${process.pid}-${room++}`;
  const [ada, ben] = [await chromium.newPage(), await chromium.newPage()];
  await joinMeeting(ada, edgeUrl, name, 'Ada', { query: adaQuery });
  await joinMeeting(ben, edgeUrl, name, 'Ben', { query: '?video=360', camera: false, microphone: false });
  const aid = await participantId(ada);
  await waitFor(
    "Ben to decode Ada's camera",
    async () => (await statOf(ben, aid, 'camera')).framesDecoded > 10,
    60_000,
    250,
  );
  return { name, ada, ben, aid, close: () => Promise.all([ada.context().close(), ben.context().close()]) };
}

interface Cell {
  concealedPct: number;
  freezesPerMin: number;
  nacks: number;
  packetsLostPct: number;
}

async function measure(ben: Page, aid: string, loss: number): Promise<Cell> {
  net.setLoss(loss);
  await afterAudio(ben, aid, WARM_UP_S);
  const [a0, v0, t0] = [await statOf(ben, aid, 'microphone'), await statOf(ben, aid, 'camera'), Date.now()];
  const a1 = await afterAudio(ben, aid, seconds);
  const [v1, t1] = [await statOf(ben, aid, 'camera'), Date.now()];
  const audioPackets = a1.packetsReceived - a0.packetsReceived + (a1.packetsLost - a0.packetsLost);
  return {
    concealedPct: 100 * concealedShare(a0, a1),
    freezesPerMin: ((v1.freezeCount - v0.freezeCount) * 60_000) / (t1 - t0),
    nacks: v1.nackCount - v0.nackCount,
    packetsLostPct: audioPackets > 0 ? (100 * (a1.packetsLost - a0.packetsLost)) / audioPackets : 0,
  };
}

const table: Record<string, Record<string, Cell>> = {};
try {
  for (const [label, query] of part.loss
    ? ([
        ['protected (FEC+DTX)', '?video=360'],
        ['plain (no FEC/DTX)', '?video=360&audio=plain'],
      ] as const)
    : []) {
    net.setLoss(0);
    const m = await meeting(query);
    const row: Record<string, Cell> = {};
    for (const loss of LOSSES) {
      row[`${loss} %`] = await measure(m.ben, m.aid, loss);
      console.log(label, `${loss} % loss`, JSON.stringify(row[`${loss} %`]));
    }
    table[label] = row;
    net.setLoss(0);
    await m.close();
  }

  const switchTimes: Record<string, number[]> = {};
  for (const [where, cap] of part.cap ? CAPS : [])
    for (let r = 0; r < runs; r++) {
      const m = await meeting('?video=720');
      await m.ben.click('#view-toggle');
      const consumerId = (await statOf(m.ben, m.aid, 'camera')).consumerId;
      // The top layer first, held for 2 s (the bandwidth estimate has grown to it), then the cap.
      let held = 0;
      await waitFor(
        'the SFU to hold the top layer',
        async () => {
          held = (await sentLayer(stack, m.name, consumerId)) === 2 ? held + 1 : 0;
          return held >= 10;
        },
        90_000,
        200,
      );
      cap(capKbit);
      const t0 = Date.now();
      const lower = await waitFor(
        'the SFU to send a lower layer under the cap',
        async () => {
          const l = await sentLayer(stack, m.name, consumerId);
          return l !== undefined && l < 2 ? { layer: l } : undefined;
        },
        120_000,
        200,
      );
      const ms = Date.now() - t0;
      (switchTimes[where] ??= []).push(ms);
      console.log(`${where}, run ${r + 1}: layer 2 → ${lower.layer} after ${ms} ms`);
      cap(null);
      await m.close();
    }

  if (part.loss) {
    console.log('\naudio concealment % / video freezes per minute (Ben receiving; loss on his downlink):');
    const cell = (c: Cell) => `${c.concealedPct.toFixed(2)} % / ${c.freezesPerMin.toFixed(1)}`;
    console.table(
      Object.fromEntries(
        Object.entries(table).map(([label, row]) => [
          label,
          Object.fromEntries(Object.entries(row).map(([loss, c]) => [loss, cell(c)])),
        ]),
      ),
    );
  }
  for (const [queue, times] of Object.entries(switchTimes))
    console.log(
      `rate cap ${capKbit} kbit/s (${queue}) → lower layer after: ${times.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')}`,
    );
} finally {
  await lossy.stop();
}
process.exit(0);
