/**
 * treffpunkt-media-node, the command: `node media-node/main.ts --help` lists every setting.
 */
import { helpText, loadMediaNodeConfig, MediaNodeConfigError, type MediaNodeConfig } from './config.ts';
import { settleWorkerBinary } from './worker-binary.ts';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(helpText());
  process.exit(0);
}
let config: MediaNodeConfig;
try {
  config = loadMediaNodeConfig(argv, process.env);
  settleWorkerBinary();
} catch (err) {
  console.error(`treffpunkt media node: ${(err as Error).message}`);
  console.error('Run with --help to see every setting.');
  process.exit(2);
}
// Imported only now: mediasoup reads MEDIASOUP_WORKER_BIN when it is loaded.
const { startMediaNode } = await import('./node.ts');
startMediaNode(config).then(
  (node) => {
    const stop = () => node.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
  (err) => {
    console.error('treffpunkt media node failed to start:', (err as Error).message);
    process.exit(1);
  },
);
