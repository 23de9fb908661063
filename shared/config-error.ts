/**
 * A service's configuration is wrong: every problem, as "SETTING: reason" lines, all at once. Thrown by
 * the edge's and the media node's config parsers alike; the commands print `message` and exit 1.
 */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
