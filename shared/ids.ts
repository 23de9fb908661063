/**
 * The ids every part passes around, defined once: room names (in URLs, tokens and the control API),
 * the opaque ids the edge and the media nodes make (participants, transports, producers, consumers),
 * operators and regions as nodes state them.
 *
 * NodeId and Jurisdiction are still defined in shared/control.ts (the control protocol, reworked on
 * another branch at the time of writing); they belong here next, with control.ts re-exporting them.
 */
import { z } from 'zod';

/** A room's name: the last path segment of the meeting URL, so letters, digits, - and _ only. */
export const RoomName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'room names are 1-64 letters, digits, - or _');

/** An id the edge or a media node made (participant, transport, producer, consumer): opaque, bounded. */
export const Id = z.string().min(1).max(64);

/** An operator of media nodes, as its nodes and the edge's pins and token claims name it. */
export const OperatorId = z.string().min(1).max(64);

/** A media node's region as the node states it (free text, bounded). */
export const RegionId = z.string().min(1).max(64);
