/**
 * treffpunkt-media-node, the command: `node media-node/main.ts --help` lists every setting.
 */
import { loadMediaNodeConfig, type MediaNodeConfig } from './config.ts';
import { loadMediaNodeEnvironment } from './environment.ts';
import { helpText } from './settings.ts';
import { settleWorkerBinary } from './worker-binary.ts';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(helpText());
  process.exit(0);
}
let config: MediaNodeConfig;
try {
  config = loadMediaNodeConfig(argv, loadMediaNodeEnvironment(process.env));
  settleWorkerBinary();
} catch (err) {
  console.error(`treffpunkt media node: ${(err as Error).message}`);
  console.error('Run with --help to see every setting.');
  process.exit(2);
}
// Imported only now: mediasoup reads MEDIASOUP_WORKER_BIN when it is loaded.
const { startMediaNode } = await import('./node.ts');
// Tests only (clock-skew.test.ts): plays a node whose clock is off by this many ms, without faketime.
const skew = Number(process.env.TREFFPUNKT_TEST_CLOCK_OFFSET_MS ?? 0);
startMediaNode(config, Number.isFinite(skew) && skew !== 0 ? () => Date.now() + skew : undefined).then(
  (node) => {
    const stop = () => node.close().then(() => process.exit(0));
    // SIGINT (Ctrl-C): stop at once. SIGTERM (systemd, docker, kubernetes): drain first, so that
    // meetings move to other nodes instead of breaking.
    process.once('SIGINT', stop);
    // mediasoup closes its workers on SIGTERM by itself (Worker.onSignal), which would end every meeting
    // here before the rooms could move: its listeners go, ours closes the workers after the drain.
    process.removeAllListeners('SIGTERM');
    process.once('SIGTERM', () => {
      node.drain().then((how) => {
        node.log.info({ how }, 'drained, stopping');
        return stop();
      });
    });
  },
  (err) => {
    console.error('treffpunkt media node failed to start:', (err as Error).message);
    process.exit(1);
  },
);
