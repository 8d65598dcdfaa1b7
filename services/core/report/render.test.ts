import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderJobReport, escapeHtml, fmt, downsampleHistogram } from './index.js';
import { sampleReport } from '../../../test/fixtures/report/sample-report.js';
import { InvalidArgument } from '../errors.js';

test('renders every section, escapes text, makes no external references', () => {
  const r = sampleReport();
  const html = renderJobReport(r);
  for (const id of ['quantization', 'histograms', 'accuracy', 'latency', 'slowest', 'notes']) assert.match(html, new RegExp(`id="${id}"`));
  assert.ok(!html.includes('<script>alert(1)</script>'), 'user text is escaped');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(!/(src|href)=["']?(https?:)?\/\//i.test(html), 'no external resources');
  assert.ok(!/@import|url\(/i.test(html));
  assert.equal((html.match(/class="chart hist"/g) ?? []).length, r.histograms.length);
  assert.match(html, /Plus214_Output_0/);
  assert.match(html, /0\.99962/);
});

test('a report without accuracy/latency still renders', () => {
  const r = sampleReport();
  delete r.accuracy;
  delete r.latency;
  r.notes = [];
  const html = renderJobReport(r);
  assert.ok(!html.includes('id="latency"'));
  assert.ok(html.includes('id="quantization"'));
});

test('malformed histogram → InvalidArgument', () => {
  const r = sampleReport();
  r.histograms[0]!.binEdges.pop();
  assert.throws(() => renderJobReport(r), InvalidArgument);
});

test('helpers', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(fmt(NaN), '—');
  assert.equal(fmt(0.12345), '0.1235');
  const d = downsampleHistogram([0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 2);
  assert.deepEqual(d, { edges: [0, 3, 5], counts: [6, 9] });
});
