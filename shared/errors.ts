/**
 * Stable error codes shared by edge, media node and browser. A code never changes meaning; the human
 * text next to it may. Clients switch on the code, never on the text.
 */
export const ErrorCode = {
  /** The WebSocket frame was not valid JSON. */
  BadJson: 'BAD_JSON',
  /** The message did not match the schema of its method (wrong types, missing or extra fields). */
  BadMessage: 'BAD_MESSAGE',
  /** The method name is not one the edge knows. */
  UnknownMethod: 'UNKNOWN_METHOD',
  /** The message is larger than the edge's configured limit. */
  MessageTooLarge: 'MESSAGE_TOO_LARGE',
  /** `join` named a protocol version this edge does not speak. */
  UnsupportedProtocolVersion: 'UNSUPPORTED_PROTOCOL_VERSION',
  /** The request needs a joined participant (e.g. `consume` before `join`). */
  NotJoined: 'NOT_JOINED',
  /** `join` sent twice on one connection. */
  AlreadyJoined: 'ALREADY_JOINED',
  /**
   * `join` with a token whose holder (same issuer and subject, or the same token) is already in the room
   * or its lobby on another connection; its issuer does not allow several sessions.
   */
  AlreadyInRoom: 'ALREADY_IN_ROOM',
  /** `join` by someone a moderator removed: their token identity is barred from the room for a while. */
  RemovedFromRoom: 'REMOVED_FROM_ROOM',
  /** A transport, producer or consumer id that does not belong to this participant or room. */
  NotFound: 'NOT_FOUND',
  /** The participant cannot consume this producer with the RTP capabilities it sent. */
  CannotConsume: 'CANNOT_CONSUME',
  /** The participant waits in the lobby until a moderator admits them (the `admitted` event follows). */
  WaitingInLobby: 'WAITING_IN_LOBBY',
  /** The room is locked and no moderator is there to admit anyone. */
  RoomLocked: 'ROOM_LOCKED',
  /** The participant's role does not allow this (e.g. a moderator action). */
  Forbidden: 'FORBIDDEN',
  /** Too many requests on this connection, or connections from this address; slow down. */
  RateLimited: 'RATE_LIMITED',
  /** A configured limit is reached (e.g. producers per participant). */
  LimitExceeded: 'LIMIT_EXCEEDED',
  /** The room is full. */
  RoomFull: 'ROOM_FULL',
  /** Too many people already wait in the room's lobby (TREFFPUNKT_LOBBY_CAPACITY); try again later. */
  LobbyFull: 'LOBBY_FULL',
  /**
   * A guest (a name typed, not from a join token) asked for the name of a verified participant in the
   * room (compared ignoring case and compatibility forms): pick another name.
   */
  NameTaken: 'NAME_TAKEN',
  /** No healthy media node is registered that may carry this room. */
  NoMediaNode: 'NO_MEDIA_NODE',
  /**
   * The room requires that its media only touch nodes of given operators or jurisdictions, and no
   * healthy node meets that requirement.
   */
  ConstraintUnmet: 'CONSTRAINT_UNMET',
  /** The media node refused or failed the operation. */
  MediaNodeError: 'MEDIA_NODE_ERROR',
  /** Missing or wrong credentials: join token refused, or control API / node registry credentials. */
  Unauthorized: 'UNAUTHORIZED',
  /**
   * Admin API: the edge's media node credentials cannot be changed at run time: they come from the
   * environment (TREFFPUNKT_NODE_SECRETS, not TREFFPUNKT_NODE_SECRETS_FILE), or the file cannot be read,
   * parsed or written now.
   */
  CredentialsNotEditable: 'CREDENTIALS_NOT_EDITABLE',
  /**
   * Edge cluster: the request had been applied, but its reply was lost when the room moved to another
   * edge (its owner stepped down before it could answer). It is not applied again; the client resumes
   * (reconnects and sends `resume`) to see the room as it is now, e.g. the producer a lost `produce` made.
   */
  ReplyLost: 'REPLY_LOST',
  /**
   * Edge cluster, between edges only: the room moved to another edge before this request started; it was
   * not applied. The edge holding the socket sends it on to the room's next owner, so clients never see it.
   */
  RoomMoved: 'ROOM_MOVED',
  /** Anything unexpected. Details are logged on the server, never sent to the client. */
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error that carries a stable code and a text that is safe to show to the other side. */
export class TreffpunktError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TreffpunktError';
    this.code = code;
  }
}

/** What crosses a boundary for any error: the code and a safe text, never a stack. */
export function toWireError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof TreffpunktError) return { code: err.code, message: err.message };
  return { code: ErrorCode.Internal, message: 'Internal error' };
}

/** The HTTP statuses error codes are answered with (edge and media node APIs alike). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500;

const HTTP_STATUS: Partial<Record<ErrorCode, ErrorStatus>> = {
  [ErrorCode.BadJson]: 400,
  [ErrorCode.BadMessage]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.CannotConsume]: 409,
  [ErrorCode.CredentialsNotEditable]: 409,
  [ErrorCode.MessageTooLarge]: 413,
  [ErrorCode.RateLimited]: 429,
};

/** The HTTP status of an error with `code`, the same on every HTTP API; codes not listed are 500. */
export function httpStatusOf(code: ErrorCode): ErrorStatus {
  return HTTP_STATUS[code] ?? 500;
}
