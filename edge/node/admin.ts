/**
 * The admin API's backend on the Node edge (edge/core/admin/routes.ts): the rooms of this process
 * (InProcessRooms), the in-memory registry, and pino's level, which can change at run time.
 */
import type { Logger as Pino } from 'pino';
import type { LogLevel } from '../../shared/admin.ts';
import type { AdminBackend } from '../core/admin/routes.ts';
import type { ListableNodeRegistry } from '../core/node-registry.ts';
import type { NodeSecretsFile } from './node-secrets-file.ts';
import type { InProcessRooms } from './room-host.ts';

/** `credentials`: the watched TREFFPUNKT_NODE_SECRETS_FILE, if the edge has one (else they cannot change). */
export function nodeAdminBackend(
  rooms: InProcessRooms,
  registry: ListableNodeRegistry,
  log: Pino,
  credentials?: NodeSecretsFile,
): AdminBackend {
  return {
    ...(credentials ? { credentials } : {}),
    rooms: () => Promise.all([...rooms.rooms()].map(([, room]) => room.adminView())),
    endRoom: async (name) => rooms.find(name)?.adminEnd(),
    removeParticipant: async (name, participantId) => (await rooms.find(name)?.adminRemove(participantId)) ?? false,
    nodes: async () => {
      const now = Date.now();
      return registry.list(now).map(({ record, status }) => ({
        nodeId: record.nodeId,
        status,
        region: record.region,
        operator: record.operator,
        ...(record.jurisdiction ? { jurisdiction: record.jurisdiction } : {}),
        controlUrl: record.controlUrl,
        heartbeatAgeMs: Math.max(0, now - record.lastHeartbeatAt),
        load: record.load,
      }));
    },
    drainNode: (nodeId) => registry.drain(nodeId),
    setLogLevel: (level: LogLevel) => {
      log.level = level;
    },
  };
}
