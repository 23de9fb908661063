/**
 * Where a room's media may go: only nodes of given operators and/or in given jurisdictions (a public
 * body's "EU only", or "only our own and our partner's machines"). Selection and failover both filter
 * by it; when no node meets it the room says so (CONSTRAINT_UNMET) instead of quietly using another.
 */
import type { MediaNodeRecord } from './node-registry.ts';

export interface MediaConstraint {
  /** Operator ids a node must have one of; absent: any operator. */
  operators?: readonly string[];
  /** Country codes a node's jurisdiction must be one of ("EU" already expanded); absent: any. */
  jurisdictions?: readonly string[];
}

/** The member states of the European Union (ISO 3166-1 alpha-2), for the "EU" shorthand. */
export const EU_MEMBER_STATES = [
  'AT',
  'BE',
  'BG',
  'CY',
  'CZ',
  'DE',
  'DK',
  'EE',
  'ES',
  'FI',
  'FR',
  'GR',
  'HR',
  'HU',
  'IE',
  'IT',
  'LT',
  'LU',
  'LV',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SE',
  'SI',
  'SK',
] as const;

/** "DE, EU" → the country codes it names; "EU" stands for the member states. */
export function expandJurisdictions(codes: readonly string[]): string[] {
  return [...new Set(codes.flatMap((c) => (c === 'EU' ? [...EU_MEMBER_STATES] : [c])))];
}

export function meetsConstraint(node: Pick<MediaNodeRecord, 'operator' | 'jurisdiction'>, c: MediaConstraint): boolean {
  if (c.operators && !c.operators.includes(node.operator)) return false;
  if (c.jurisdictions && (!node.jurisdiction || !c.jurisdictions.includes(node.jurisdiction))) return false;
  return true;
}

export function isConstrained(c: MediaConstraint): boolean {
  return c.operators !== undefined || c.jurisdictions !== undefined;
}

/** For messages: "operator A or B, jurisdiction DE". */
export function describeConstraint(c: MediaConstraint): string {
  const parts = [];
  if (c.operators) parts.push(`operator ${c.operators.join(' or ')}`);
  if (c.jurisdictions)
    parts.push(
      `jurisdiction ${c.jurisdictions.length > 5 ? `${c.jurisdictions.slice(0, 5).join(', ')}, …` : c.jurisdictions.join(' or ')}`,
    );
  return parts.join(', ') || 'none';
}

/** Both constraints at once: a room's own constraint only narrows the deployment's. */
export function intersectConstraints(a: MediaConstraint, b: MediaConstraint): MediaConstraint {
  const both = (x?: readonly string[], y?: readonly string[]) => (x && y ? x.filter((v) => y.includes(v)) : (x ?? y));
  const operators = both(a.operators, b.operators);
  const jurisdictions = both(a.jurisdictions, b.jurisdictions);
  return { ...(operators ? { operators } : {}), ...(jurisdictions ? { jurisdictions } : {}) };
}

/** The same requirement, whatever the order of the lists. */
export function sameConstraint(a: MediaConstraint, b: MediaConstraint): boolean {
  const key = (c: MediaConstraint) =>
    JSON.stringify([[...(c.operators ?? [])].sort(), [...(c.jurisdictions ?? [])].sort()]);
  return key(a) === key(b);
}
