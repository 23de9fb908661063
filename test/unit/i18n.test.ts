import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickLanguage } from '../../edge/web/i18n.ts';

test('the app speaks German to German browsers and English otherwise', () => {
  assert.equal(pickLanguage(['de-DE', 'en']), 'de');
  assert.equal(pickLanguage(['de-AT']), 'de');
  assert.equal(pickLanguage(['fr-FR', 'de']), 'de');
  assert.equal(pickLanguage(['en-GB', 'de']), 'en');
  assert.equal(pickLanguage(['fr']), 'en');
  assert.equal(pickLanguage([]), 'en');
});
