/**
 * Interns tensor names to dense ids 0, 1, 2, ... in first-seen order: an open-addressing table over
 * an Int32Array sized from the expected name count (doubling if more come). On graphs of millions of tensors a JS Map
 * grew 2.9x in time when the name count doubled (rehashing its whole backing store, in old space);
 * this table grew 1.4x (500k -> 1M transformer nodes, 1.4M -> 2.8M names).
 */
import { int32s } from './graph-arrays.js';

function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class NameTable {
  /** names by id, allocated once for the expected count (a growing array reallocated ~3x its final size at a
   * million names, all in large-object space, where it counts towards the next full collection) */
  private list: string[];
  private count = 0;
  private slots: Int32Array;
  private mask: number;

  /** `capacity`: the names expected; the table doubles (rehashing) if more come. */
  constructor(capacity: number) {
    // at most 3/4 full: probes stay short (linear probing, mostly within one cache line), and at a million
    // names the table is 8 MB rather than 16
    let size = 16;
    while (size * 3 < capacity * 4) size *= 2;
    this.slots = int32s(size).fill(-1);
    this.mask = size - 1;
    this.list = new Array<string>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Names by id (the array is trimmed to the names interned so far; interning may go on after). */
  get names(): string[] {
    if (this.list.length !== this.count) this.list.length = this.count;
    return this.list;
  }

  /** The id of `s`, interning it when new. */
  intern(s: string): number {
    let h = hashName(s) & this.mask;
    for (;;) {
      const id = this.slots[h]!;
      if (id < 0) {
        if ((this.count + 1) * 4 > this.slots.length * 3) {
          this.grow();
          return this.intern(s);
        }
        this.slots[h] = this.count;
        this.list[this.count] = s;
        return this.count++;
      }
      if (this.list[id] === s) return id;
      h = (h + 1) & this.mask;
    }
  }

  /** The id of `s`, or -1. */
  get(s: string): number {
    let h = hashName(s) & this.mask;
    for (;;) {
      const id = this.slots[h]!;
      if (id < 0) return -1;
      if (this.list[id] === s) return id;
      h = (h + 1) & this.mask;
    }
  }

  private grow(): void {
    const size = this.slots.length * 2;
    this.slots = int32s(size).fill(-1);
    this.mask = size - 1;
    for (let id = 0; id < this.count; id++) {
      let h = hashName(this.list[id]!) & this.mask;
      while (this.slots[h]! >= 0) h = (h + 1) & this.mask;
      this.slots[h] = id;
    }
  }
}
