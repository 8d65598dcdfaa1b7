/**
 * Opens a rendered JobReport in headless Chromium: no console errors, no page errors, no network
 * requests, and the charts are drawn (SVG bars present with non-zero size).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { renderJobReport } from '../../services/core/report/index.js';
import { sampleReport } from '../fixtures/report/sample-report.js';

const CHROMIUM = '/usr/bin/chromium';

test('report renders in headless Chromium with charts and no errors', { timeout: 120_000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is required (apt-get install -y chromium)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-chromium-'));
  const file = path.join(dir, 'report.html');
  fs.writeFileSync(file, renderJobReport(sampleReport()));
  // a fresh --user-data-dir: playwright takes it as launchPersistentContext's first argument
  const browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (r.url() !== `file://${file}`) requests.push(r.url());
    });
    await page.goto(`file://${file}`, { waitUntil: 'load' });

    const hist = await page.$$eval('svg.hist-svg', (svgs) =>
      svgs.map((s) => {
        const bars = Array.from(s.querySelectorAll('rect.bar')).map((r) => r.getBoundingClientRect());
        const box = s.getBoundingClientRect();
        return {
          w: box.width, h: box.height, bars: bars.length,
          drawn: bars.filter((b) => b.width > 0 && b.height > 0).length,
          edges: s.querySelectorAll('line.range-edge').length,
        };
      }),
    );
    const expected = sampleReport().histograms.length;
    assert.equal(hist.length, expected, 'one histogram per tensor');
    for (const h of hist) {
      assert.ok(h.w > 100 && h.h > 50, `histogram box ${h.w}x${h.h}`);
      assert.ok(h.bars > 10 && h.bars <= 120, `bars downsampled to ≤120, got ${h.bars}`);
      assert.ok(h.drawn > 10, `drawn bars ${h.drawn}`);
      assert.equal(h.edges, 2, 'chosen range marked by two lines');
    }
    const lat = await page.$eval('svg.latency-svg', (s) => {
      const bars = Array.from(s.querySelectorAll('rect.bar.orig, rect.bar.quant')).map((r) => r.getBoundingClientRect());
      return { n: bars.length, drawn: bars.filter((b) => b.width > 0 && b.height > 0).length };
    });
    assert.equal(lat.n, 7 * 2 + 2, 'seven percentile pairs plus the legend');
    assert.equal(lat.drawn, lat.n);
    const layerBars = await page.$$eval('svg.layer-bar rect.bar', (rs) => rs.filter((r) => r.getBoundingClientRect().width > 0).length);
    assert.ok(layerBars >= 3);

    // the inline filter works
    const total = await page.$$eval('#q-table tbody tr', (rs) => rs.length);
    await page.check('#q-only');
    const shown = await page.$$eval('#q-table tbody tr', (rs) => rs.filter((r) => (r as HTMLElement).style.display !== 'none').length);
    const quantized = sampleReport().quantization.filter((q) => q.quantized).length;
    assert.equal(shown, quantized);
    assert.ok(shown < total);
    assert.match(await page.textContent('#q-count') ?? '', new RegExp(`${quantized} of ${total} shown`));

    assert.deepEqual(problems, [], 'no console errors or warnings');
    assert.deepEqual(requests, [], 'no network requests');
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
