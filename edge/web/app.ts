/**
 * The browser app: a start page to pick a room, the pre-join screen (name, devices, preview) and the
 * meeting. Served by the edge; no third-party requests (the CSP allows only this origin). A room
 * address may carry a join token and a region hint (join-link.ts).
 */
import './zod-config.ts'; // first: before any schema is built
import { missingFeatures, unsupportedScreen } from './browser-support.ts';
import { RoomName } from '../../shared/ids.ts';
import { lang, t, type Strings } from './i18n.ts';
import { readJoinLink } from './join-link.ts';
import { prepareJoin } from './meeting/join.ts';
import { preJoin } from './prejoin.ts';
import { startPage } from './start-page.ts';
import { mark } from './timeline.ts';
import { RoomView } from './view/room-view.ts';

mark('app-start');

const app = document.getElementById('app')!;
document.documentElement.lang = lang;

const roomFromPath = () => {
  try {
    return decodeURIComponent(location.pathname.slice(1));
  } catch {
    return location.pathname.slice(1); // a malformed %-escape: shown as typed
  }
};

// Read before anything else: the token leaves the address bar at once.
const link = readJoinLink();

function showPreJoin(room: string, message?: (s: Strings) => string): void {
  prepareJoin();
  preJoin(
    app,
    room,
    message,
    async (choice, waiting) => {
      const view = new RoomView(app, room, choice, (msg) => showPreJoin(room, msg));
      await view.join({ name: choice.name || t.you, token: link.token, region: link.region }, choice.micOn, waiting);
    },
    link.token ? { invitedAs: link.tokenName ?? null } : {},
  );
}

const room = roomFromPath();
const missing = missingFeatures();
if (room === '') startPage(app);
else if (!RoomName.safeParse(room).success) startPage(app, room);
else if (missing.length > 0) unsupportedScreen(app, room, missing);
else showPreJoin(room);
