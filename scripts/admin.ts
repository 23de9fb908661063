/**
 * treffpunkt admin: the admin API from a shell (docs/admin-api.md).
 *
 *   npm run admin -- rooms
 *   npm run admin -- end <room>
 *
 * The token comes from TREFFPUNKT_ADMIN_TOKEN or the file named by TREFFPUNKT_ADMIN_TOKEN_FILE (or
 * --token-file), never from a flag: flags show up in `ps`. Every answer is parsed by its schema in
 * shared/admin.ts; errors print their stable code and exit 1.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import {
  AdminDone,
  AdminNodeCredentialList,
  AdminNodeCredentials,
  AdminNodeCredentialsDone,
  AdminNodes,
  AdminRooms,
  adminRoutes,
  LogLevel,
} from '../shared/admin.ts';

const HELP = `Usage: npm run admin -- <command> [args] [--url URL] [--token-file FILE] [--json]

Commands:
  rooms                          list open rooms with their participants (pseudonymous ids, roles, nodes)
  end <room>                     end a meeting: everyone's socket closes with 4000 (meeting ended)
  remove <room> <participantId>  remove one participant (closed with 4001, barred like a moderator's removal)
  nodes                          list media nodes with status, heartbeat age and load
  drain <nodeId>                 mark a node draining: rooms move their participants to other nodes
  log-level <level>              set the edge's log level now (debug, info, warn, error, silent)
  node-credentials list          the nodes the edge has credentials for, with their pins (never a secret)
  node-credentials add <nodeId> --secret-file FILE [--operator OP] [--jurisdiction CC] [--control-origin URL]
                                 add or replace a node's credentials (edge needs TREFFPUNKT_NODE_SECRETS_FILE);
                                 FILE holds the secret (or new|previous during a rotation)
  node-credentials revoke <nodeId>
                                 revoke a node's credentials: its next request is refused

Options:
  --url URL          the edge (default $TREFFPUNKT_ADMIN_URL or http://127.0.0.1:8080)
  --token-file FILE  file holding the admin token (default $TREFFPUNKT_ADMIN_TOKEN_FILE, or $TREFFPUNKT_ADMIN_TOKEN)
  --json             print the answer as JSON
  -h, --help         this text`;

class CliError extends Error {}

function token(file: string | undefined): string {
  const path = file ?? process.env.TREFFPUNKT_ADMIN_TOKEN_FILE;
  if (path) return readFileSync(path, 'utf8').trim();
  const t = process.env.TREFFPUNKT_ADMIN_TOKEN;
  if (!t) throw new CliError('no admin token: set TREFFPUNKT_ADMIN_TOKEN or TREFFPUNKT_ADMIN_TOKEN_FILE');
  return t;
}

async function call<S extends z.ZodType>(
  base: string,
  secret: string,
  method: string,
  path: string,
  schema: S,
  body?: unknown,
): Promise<z.infer<S>> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: {
      authorization: `Bearer ${secret}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => undefined)) as { error?: { code: string; message: string } } | undefined;
  if (!res.ok) throw new CliError(`${json?.error?.code ?? `HTTP ${res.status}`}: ${json?.error?.message ?? ''}`);
  return schema.parse(json);
}

const enc = encodeURIComponent;

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'token-file': { type: 'string' },
      json: { type: 'boolean' },
      'secret-file': { type: 'string' },
      operator: { type: 'string' },
      jurisdiction: { type: 'string' },
      'control-origin': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return;
  }
  const base = values.url ?? process.env.TREFFPUNKT_ADMIN_URL ?? 'http://127.0.0.1:8080';
  const need = (n: number, what: string) => {
    if (args.length !== n) throw new CliError(`usage: ${command} ${what}`);
  };
  const out = (data: unknown, text: () => string) => console.log(values.json ? JSON.stringify(data, null, 2) : text());
  const secret = () => token(values['token-file']);
  switch (command) {
    case 'rooms': {
      need(0, '');
      const { rooms } = await call(base, secret(), 'GET', adminRoutes.rooms, AdminRooms);
      return out({ rooms }, () =>
        rooms.length === 0
          ? 'no open rooms'
          : rooms
              .map(
                (r) =>
                  `${r.name}  ${r.participants.length} participant(s)${r.lobby ? `, ${r.lobby} in the lobby` : ''}${r.locked ? ', locked' : ''}\n` +
                  r.participants
                    .map((p) => `  ${p.id}  ${p.role}  node=${p.nodeId || '-'}${p.connected ? '' : '  (reconnecting)'}`)
                    .join('\n'),
              )
              .join('\n'),
      );
    }
    case 'end': {
      need(1, '<room>');
      const done = await call(base, secret(), 'DELETE', adminRoutes.room.replace(':room', enc(args[0]!)), AdminDone);
      return out(done, () => `ended ${args[0]} (${done.affected} participant(s))`);
    }
    case 'remove': {
      need(2, '<room> <participantId>');
      const path = adminRoutes.participant.replace(':room', enc(args[0]!)).replace(':participantId', enc(args[1]!));
      const done = await call(base, secret(), 'DELETE', path, AdminDone);
      return out(done, () => `removed ${args[1]} from ${args[0]}`);
    }
    case 'nodes': {
      need(0, '');
      const { nodes } = await call(base, secret(), 'GET', adminRoutes.nodes, AdminNodes);
      return out({ nodes }, () =>
        nodes.length === 0
          ? 'no media nodes registered'
          : nodes
              .map(
                (n) =>
                  `${n.nodeId}  ${n.status}  ${n.operator}/${n.region}${n.jurisdiction ? `/${n.jurisdiction}` : ''}  heartbeat ${(n.heartbeatAgeMs / 1000).toFixed(1)} s ago  transports=${n.load.transports}`,
              )
              .join('\n'),
      );
    }
    case 'drain': {
      need(1, '<nodeId>');
      const done = await call(base, secret(), 'POST', adminRoutes.drain.replace(':nodeId', enc(args[0]!)), AdminDone);
      return out(done, () => `${args[0]} drains: rooms move their participants away`);
    }
    case 'log-level': {
      need(1, '<level>');
      const level = LogLevel.safeParse(args[0]);
      if (!level.success) throw new CliError('level must be debug, info, warn, error or silent');
      const done = await call(base, secret(), 'PUT', adminRoutes.logLevel, AdminDone, { level: level.data });
      return out(done, () => `log level is now ${level.data}`);
    }
    case 'node-credentials': {
      const [sub, nodeId] = args;
      const path = (id: string) => adminRoutes.nodeCredentials.replace(':nodeId', enc(id));
      const pinsText = (p: { operator?: string; jurisdiction?: string; controlOrigin?: string }) =>
        Object.entries(p)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ') || 'no pins';
      if (sub === 'list' && args.length === 1) {
        const { credentials } = await call(
          base,
          secret(),
          'GET',
          adminRoutes.nodeCredentialList,
          AdminNodeCredentialList,
        );
        return out({ credentials }, () =>
          credentials.length === 0
            ? 'no node credentials'
            : credentials.map((c) => `${c.nodeId}  ${pinsText(c.pins)}`).join('\n'),
        );
      }
      if (sub === 'add' && nodeId && args.length === 2) {
        // The secret from a file, never a flag: flags show up in `ps`.
        if (!values['secret-file']) throw new CliError('usage: node-credentials add <nodeId> --secret-file FILE');
        const body = AdminNodeCredentials.safeParse({
          secret: readFileSync(values['secret-file'], 'utf8').trim(),
          ...(values.operator ? { operator: values.operator } : {}),
          ...(values.jurisdiction ? { jurisdiction: values.jurisdiction } : {}),
          ...(values['control-origin'] ? { controlOrigin: values['control-origin'] } : {}),
        });
        if (!body.success)
          throw new CliError(
            `not sent: ${[...new Set(body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`))].join('; ')}`,
          );
        const done = await call(base, secret(), 'PUT', path(nodeId), AdminNodeCredentialsDone, body.data);
        return out(done, () => `${done.action} credentials of ${done.nodeId} (${pinsText(done.pins)})`);
      }
      if (sub === 'revoke' && nodeId && args.length === 2) {
        const done = await call(base, secret(), 'DELETE', path(nodeId), AdminNodeCredentialsDone);
        return out(done, () => `revoked credentials of ${done.nodeId}: its next request is refused`);
      }
      throw new CliError('usage: node-credentials list | add <nodeId> --secret-file FILE [...] | revoke <nodeId>');
    }
    default:
      throw new CliError(`unknown command "${command}"; see --help`);
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(
      `treffpunkt admin: ${err instanceof CliError || err instanceof TypeError ? err.message : String(err)}`,
    );
    process.exit(1);
  });
}
