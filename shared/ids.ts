/**
 * The ids every part passes around, defined once: room names (in URLs, tokens and the control API),
 * the opaque ids the edge and the media nodes make (participants, transports, producers, consumers),
 * operators and regions as nodes state them.
 * media nodes and jurisdictions. shared/control.ts re-exports NodeId and Jurisdiction for its users.
 */
import { z } from 'zod';

/**
 * A room name's pattern, also the start page's `<input pattern>`: browsers compile that with the `v` flag,
 * where a bare `-` at the end of a class is a syntax error (and the field then refuses every name).
 */
export const ROOM_NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9_\\-]{0,63}';

/** A room's name: the last path segment of the meeting URL, so letters, digits, - and _ only. */
export const RoomName = z
  .string()
  .regex(new RegExp(`^${ROOM_NAME_PATTERN}$`), 'room names are 1-64 letters, digits, - or _');

/** An id the edge or a media node made (participant, transport, producer, consumer): opaque, bounded. */
export const Id = z.string().min(1).max(64);

/** An operator of media nodes, as its nodes and the edge's pins and token claims name it. */
export const OperatorId = z.string().min(1).max(64);

/** A media node's region as the node states it (free text, bounded). */
export const RegionId = z.string().min(1).max(64);

/** A media node's id, as the edge's node credentials and the node's registration name it. */
export const NodeId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'node ids are 1-63 lowercase letters, digits or -');

/** Where a node's operator is subject to law: an ISO 3166-1 alpha-2 country code. */
export const Jurisdiction = z
  .string()
  .regex(/^[A-Z]{2}$/, 'jurisdictions are ISO 3166-1 alpha-2 country codes, e.g. DE');
