/**
 * SIGHUP on the Node edge (issue 17): the settings are read again (config file, environment, secret
 * files) and what can change without dropping a meeting does — the log level and the trusted join token
 * issuers (with the guest policy). Everything else needs a restart; a reload that would change it says
 * so in the log. A bad file changes nothing: the running settings stay, the problems are logged.
 * Node credentials are not reloaded here (the registry's reload, docs/configuration.md).
 */
import type { Logger as Pino } from 'pino';
import { LogLevel } from '../../shared/admin.ts';
import { ConfigError } from '../../shared/config-error.ts';
import { parseEdgeConfig } from '../core/config.ts';
import { errorFields } from '../core/logger.ts';
import type { EdgeServices } from '../core/services.ts';

export function reloadOnSignal(
  readSettings: () => Record<string, string | undefined>,
  services: EdgeServices,
  log: Pino,
): () => void {
  const reload = () => {
    try {
      const env = readSettings();
      const level = LogLevel.safeParse(env.TREFFPUNKT_LOG_LEVEL ?? 'info');
      if (!level.success) throw new ConfigError(['TREFFPUNKT_LOG_LEVEL: must be debug, info, warn, error or silent']);
      const config = parseEdgeConfig(env);
      services.reloadAccess(config);
      log.level = level.data;
      log.warn(
        { reload: true, level: level.data, issuers: config.trustedIssuers.map((i) => i.issuer) },
        'settings reloaded (log level, trusted issuers, guest policy); other changes need a restart',
      );
    } catch (err) {
      log.error(
        err instanceof ConfigError ? { reload: true, problems: err.problems } : { reload: true, ...errorFields(err) },
        'settings reload failed, the running settings stay',
      );
    }
  };
  process.on('SIGHUP', reload);
  return reload;
}
