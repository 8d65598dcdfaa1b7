/**
 * trtexec log parsing (SPEC §6).
 *
 * A log is read line by line. Outside a section, a line that contains a section header
 * (`=== Model Options ===`, …) opens that section. Inside a section, a line is a record only if
 * it begins with trtexec's `[MM/DD/YYYY-HH:MM:SS] [I] ` prefix; the rest is trimmed and split on
 * ": ", keeping the first two pieces as key and value. A prefixed line without ": " keeps the
 * section open; an unprefixed line closes it. A prefixed line holding another section's header
 * switches to that section (the reference keeps filling the first one: see docs/compatibility.md).
 *
 * Numbers are read scanf-style (the first number in the text). Statistic lists are split on ","
 * then "=", in the order min, max, mean, median, p90, p95, p99.
 */
import { InvalidArgument } from '../core/errors.js';

export type TrtexecLogKind = 'build' | 'profile';

export const BUILD_SECTIONS = ['=== Model Options ===', '=== Build Options ==='] as const;
export const PROFILE_SECTIONS = ['=== Performance summary ===', '=== Inference Options ===', '=== Device Information ==='] as const;

/** Keys whose first number is taken. */
export const SCALAR_KEYS = [
  'Throughput', 'Total Host Walltime', 'Total GPU Compute Time',
  'Compute Clock Rate', 'Memory Bus Width', 'Memory Clock Rate', 'Compute Capability', 'SMs',
] as const;
/** Keys read as statistic lists. */
export const LIST_KEYS = ['Latency', 'Enqueue Time', 'H2D Latency', 'GPU Compute Time', 'D2H Latency'] as const;
export const STAT_ORDER = ['min', 'max', 'mean', 'median', 'p90', 'p95', 'p99'] as const;

export type StatName = (typeof STAT_ORDER)[number];

/** A statistic list: the raw values in log order, and the same values by name where present. */
export interface StatList {
  values: number[];
  min?: number;
  max?: number;
  mean?: number;
  median?: number;
  p90?: number;
  p95?: number;
  p99?: number;
}

/** One section: every record as text, plus the numeric keys read as numbers or lists. */
export interface LogSection {
  found: boolean;
  text: Record<string, string>;
  numbers: Record<string, number>;
  lists: Record<string, StatList>;
}

export interface TrtexecBuildLog {
  kind: 'build';
  modelOptions: LogSection;
  buildOptions: LogSection;
}

export interface TrtexecProfileLog {
  kind: 'profile';
  performanceSummary: LogSection;
  inferenceOptions: LogSection;
  deviceInformation: LogSection;
  /** Mean host latency in ms (what the reference meant to report). */
  latencyMs: number;
  /** Latency[1] = max, what the reference actually reports [quirk]. */
  referenceLatencyMs: number;
}

export type TrtexecLog = TrtexecBuildLog | TrtexecProfileLog;

const PREFIX_RE = /^\[\d+\/\d+\/\d+-\d+:\d+:\d+\] \[I\] /;
const NUMBER_RE = /[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/;

/** The first scanf-style float in `text`; undefined when there is none. */
export function scanFloat(text: string): number | undefined {
  const m = NUMBER_RE.exec(text);
  return m ? Number.parseFloat(m[0]) : undefined;
}

/** "min = 0.8 ms, max = 0.9 ms, …" → [0.8, 0.9, …]. Throws InvalidArgument naming the key. */
export function parseStatList(key: string, value: string): StatList {
  const values = value.split(',').map((part) => {
    const eq = part.split('=');
    const num = eq.length > 1 ? scanFloat(eq[1]!) : undefined;
    if (num === undefined) {
      throw new InvalidArgument(`trtexec log: "${key}" entry "${part.trim()}" is not "name = number"`);
    }
    return num;
  });
  const list: StatList = { values };
  STAT_ORDER.forEach((name, i) => {
    if (i < values.length) list[name] = values[i]!;
  });
  return list;
}

function emptySection(): LogSection {
  return { found: false, text: {}, numbers: {}, lists: {} };
}

function splitSections(text: string, headers: readonly string[]): LogSection[] {
  const sections = headers.map(emptySection);
  const headerOf = (line: string) => headers.findIndex((h) => line.includes(h));
  let current = -1;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (current < 0) {
      const h = headerOf(line);
      if (h >= 0) {
        current = h;
        sections[h]!.found = true;
      }
      continue;
    }
    const m = PREFIX_RE.exec(line);
    if (!m) {
      current = -1;
      continue;
    }
    const h = headerOf(line);
    if (h >= 0) {
      current = h;
      sections[h]!.found = true;
      continue;
    }
    const pieces = line.slice(m[0].length).trim().split(': ');
    if (pieces.length > 1) sections[current]!.text[pieces[0]!] = pieces[1]!;
  }
  return sections;
}

function typeValues(section: LogSection): LogSection {
  for (const [k, v] of Object.entries(section.text)) {
    if ((SCALAR_KEYS as readonly string[]).includes(k)) {
      const n = scanFloat(v);
      if (n === undefined) throw new InvalidArgument(`trtexec log: "${k}" has no number in "${v}"`);
      section.numbers[k] = n;
    } else if ((LIST_KEYS as readonly string[]).includes(k)) {
      section.lists[k] = parseStatList(k, v);
    }
  }
  return section;
}

export function parseTrtexecLog(text: string, kind: 'build'): TrtexecBuildLog;
export function parseTrtexecLog(text: string, kind: 'profile'): TrtexecProfileLog;
export function parseTrtexecLog(text: string, kind: TrtexecLogKind): TrtexecLog;
export function parseTrtexecLog(text: string, kind: TrtexecLogKind): TrtexecLog {
  if (typeof text !== 'string') throw new InvalidArgument('trtexec log: expected text');
  if (kind === 'build') {
    const [modelOptions, buildOptions] = splitSections(text, BUILD_SECTIONS).map(typeValues) as [LogSection, LogSection];
    if (!modelOptions.found && !buildOptions.found) {
      throw new InvalidArgument(`trtexec log: not a trtexec build log (no "${BUILD_SECTIONS[0]}" or "${BUILD_SECTIONS[1]}" section)`);
    }
    return { kind, modelOptions, buildOptions };
  }
  if (kind !== 'profile') throw new InvalidArgument(`trtexec log: kind must be "build" or "profile", got "${String(kind)}"`);
  const [performanceSummary, inferenceOptions, deviceInformation] = splitSections(text, PROFILE_SECTIONS).map(typeValues) as [
    LogSection, LogSection, LogSection,
  ];
  if (!performanceSummary.found) {
    throw new InvalidArgument(`trtexec log: not a trtexec profiling log (no "${PROFILE_SECTIONS[0]}" section)`);
  }
  const latency = performanceSummary.lists['Latency'];
  if (!latency || latency.mean === undefined || latency.max === undefined) {
    throw new InvalidArgument('trtexec log: the performance summary has no "Latency: min = …, max = …, mean = …" record');
  }
  if (!(latency.mean > 0) || !(latency.max > 0)) {
    throw new InvalidArgument(`trtexec log: latency must be > 0 (mean ${latency.mean}, max ${latency.max})`);
  }
  return {
    kind,
    performanceSummary,
    inferenceOptions,
    deviceInformation,
    latencyMs: latency.mean,
    referenceLatencyMs: latency.max,
  };
}
