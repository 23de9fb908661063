/**
 * Logs never contain tokens, secrets, TURN passwords or display names: a meeting with join tokens, TURN
 * credentials, signed node traffic, chat and moderation runs on both edges, then every line either
 * process wrote is scanned for each secret value.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentToken } from '../support/join-token.ts';
import { EDGE_RUNTIMES_WITH_CLUSTER, startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';

const TOKEN_SECRET = 'log-hygiene-join-token-secret-0123456789abcdef';
const TURN_SECRET = 'log-hygiene-turn-secret-0123456789';

for (const runtime of EDGE_RUNTIMES_WITH_CLUSTER)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({
        runtime,
        edgeEnv: { TREFFPUNKT_JOIN_TOKEN_SECRET: TOKEN_SECRET, TREFFPUNKT_GUEST_POLICY: 'lobby' },
        mediaNodeEnv: { TREFFPUNKT_TURN_SECRET: TURN_SECRET, TREFFPUNKT_LOG_LEVEL: 'debug' },
      });
    });
    after(async () => {
      await stack?.stop();
    });

    test('no secret, token, TURN password or display name in any log line', async () => {
      const room = 'log-hygiene';
      const names = ['Zebulon Quaxwort', 'Philippa Vexhaven', 'Gast Ygritte'];
      const sign = (name: string, role: string) => deploymentToken(TOKEN_SECRET, { room, name, role }, '5m');
      const tokens = [await sign(names[0]!, 'moderator'), await sign(names[1]!, 'participant')];
      const mod = await SignalingClient.connect(stack.wsUrl(room));
      const mj = await mod.request('join', { protocolVersion: 1, token: tokens[0]! });
      const p = await SignalingClient.connect(stack.wsUrl(room));
      await p.request('join', { protocolVersion: 1, token: tokens[1]! });
      const guest = await SignalingClient.connect(stack.wsUrl(room));
      await guest.call('join', { protocolVersion: 1, name: names[2]! });
      const lobby = await mod.waitForEvent<{ waiting: { id: string }[] }>(
        'lobbyChanged',
        (d) => d.waiting.length === 1,
      );
      await mod.request('admit', { participantId: lobby.waiting[0]!.id });
      await guest.waitForEvent('admitted');
      // A refused token, too (it must not be logged either).
      const forged = `${tokens[1]!.slice(0, -4)}AAAA`;
      await (await SignalingClient.connect(stack.wsUrl(room))).call('join', { protocolVersion: 1, token: forged });

      const pt = opusPayloadType(mj.routerRtpCapabilities);
      const pub = await publishAudio(mod, pt);
      const sub = await receiveAudio(p, pt, pub.producerId);
      await ffmpegOpus(pt, 2, pub.writeRtp);
      const send = await p.request('createTransport', { direction: 'send' });
      const turnPasswords = send.iceServers.map((s) => s.credential);
      await mod.request('chat', { text: 'secret agenda item 42' });
      await mod.request('removeParticipant', {
        participantId: (await guest.waitForEvent<{ participantId: string }>('admitted')).participantId,
      });
      await Promise.all([pub.pc.close(), sub.pc.close(), mod.close(), p.close()]);

      const log = stack.output();
      assert.ok(log.length > 1000, 'the services did log');
      assert.match(log, /participant joined/, 'participants are logged — by pseudonymous id');
      const forbidden: [string, string][] = [
        ['node secret', stack.secret],
        ['join token secret', TOKEN_SECRET],
        ['TURN secret', TURN_SECRET],
        ...tokens.map((t, i) => [`join token ${i}`, t] as [string, string]),
        ['forged token', forged],
        // The signature part alone, in case a token is logged in pieces.
        ...tokens.map((t, i) => [`token ${i} signature`, t.split('.')[2]!] as [string, string]),
        ...turnPasswords.map((pw, i) => [`TURN password ${i}`, pw] as [string, string]),
        ...names.map((n) => [`display name "${n}"`, n] as [string, string]),
        ['chat text', 'secret agenda item 42'],
      ];
      assert.ok(turnPasswords.length > 0, 'TURN credentials were minted');
      for (const [what, value] of forbidden) assert.ok(!log.includes(value), `${what} appears in the logs`);
    });
  });
