/**
 * The edge cluster in real Chromium (issue 12): three pages on three different edges (each through its
 * own stand-in load balancer, failover-proxy.ts) meet; the edge that owns the room is killed (kill -9).
 * All three pages keep decoding video the whole time, and nobody's tiles are replaced (a leave and a
 * join would make new ones). The page whose edge died reconnects through its load balancer to another
 * edge and resumes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { type Chromium, framesFrom, joinMeeting, launchChromium, participantId } from '../support/browser.ts';
import { type EdgeCluster, startEdgeCluster } from '../support/edge-cluster.ts';
import { type FailoverProxy, startFailoverProxy } from '../support/failover-proxy.ts';
import { rosterSize } from '../support/media-recovery.ts';
import { waitFor } from '../support/poll.ts';

/** Marks the page's elements of the other participants, to find them unchanged afterwards. */
const markTiles = (page: Page, ids: string[]) =>
  page.evaluate((ids) => {
    for (const id of ids)
      for (const e of document.querySelectorAll(`[data-participant-id="${id}"]`))
        (e as unknown as { marked: boolean }).marked = true;
  }, ids);

/** How many of the page's elements of these participants are new (unmarked). */
const newTiles = (page: Page, ids: string[]) =>
  page.evaluate(
    (ids) =>
      ids
        .flatMap((id) => [...document.querySelectorAll(`[data-participant-id="${id}"]`)])
        .filter((e) => !(e as unknown as { marked?: boolean }).marked).length,
    ids,
  );

describe('edge cluster in the browser', () => {
  let cluster: EdgeCluster;
  let chromium: Chromium;
  const proxies: FailoverProxy[] = [];
  before(async () => {
    cluster = await startEdgeCluster({ leaseMs: 5_000 });
    chromium = await launchChromium();
    const ports = cluster.edges.map((e) => e.port);
    for (let i = 0; i < 3; i++) proxies.push(await startFailoverProxy([...ports.slice(i), ...ports.slice(0, i)]));
  });
  after(async () => {
    await chromium?.close();
    for (const p of proxies) await p.close();
    await cluster?.stop();
  });

  test('three pages on three edges; the owner edge is killed; all keep decoding video, nobody leaves', async () => {
    const room = `cluster-${Date.now()}`;
    const pages: Page[] = [];
    for (const [i, name] of ['Ada', 'Ben', 'Cai'].entries()) {
      const page = await chromium.newPage();
      await joinMeeting(page, proxies[i]!.url, room, name);
      pages.push(page);
    }
    const ids = await Promise.all(pages.map(participantId));
    assert.equal(await cluster.owner(room), 'e1', "Ada's edge runs the room");
    const others = (i: number) => ids.filter((_, j) => j !== i);
    const decoding = async (min: number[][]) => {
      for (const [i, page] of pages.entries())
        for (const [k, id] of others(i).entries()) if ((await framesFrom(page, id)) <= min[i]![k]!) return false;
      return true;
    };
    const frames = async () => Promise.all(pages.map((p, i) => Promise.all(others(i).map((id) => framesFrom(p, id)))));
    await waitFor('every page to decode the others', async () => decoding(pages.map(() => [10, 10])), 60_000, 250);
    for (const [i, page] of pages.entries()) {
      await page.click('#people-toggle');
      await markTiles(page, others(i));
    }

    await cluster.edges[0]!.kill();
    // Video keeps being decoded while the room moves: sampled a few times through the takeover.
    for (let round = 0; round < 4; round++) {
      const before = await frames();
      await waitFor('every page to decode more video', () => decoding(before), 15_000, 250);
    }
    await waitFor(
      'a surviving edge to own the room',
      async () => {
        const owner = await cluster.owner(room);
        return owner !== undefined && owner !== 'e1';
      },
      30_000,
      250,
    );
    // Ada's app resumed through her load balancer on another edge.
    await waitFor(
      "Ada's page to resume",
      () =>
        pages[0]!.evaluate(
          () => (window as unknown as { treffpunkt: { meeting: { resumes: number } } }).treffpunkt.meeting.resumes > 0,
        ),
      30_000,
      250,
    );
    const before = await frames();
    await waitFor('every page to decode more video after the takeover', () => decoding(before), 30_000, 250);
    for (const [i, page] of pages.entries()) {
      assert.equal(await rosterSize(page), 3, `page ${i} still has everyone`);
      assert.equal(await newTiles(page, others(i)), 0, `page ${i} shows nobody leaving and joining`);
    }
  });
});
