/** Small seeded PRNG (mulberry32): the same seed gives the same fleet, so runs can be compared. */
export type Rng = () => number;

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seed for one device of a run: stable per (run seed, device index). */
export const deviceSeed = (runSeed: number, index: number) => (Math.imul(runSeed ^ 0x9e3779b9, 2654435761) + index * 0x85ebca6b) >>> 0;

/** Picks from weighted choices (weights need not sum to 1). */
export function pick<T>(r: Rng, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [v, w] of choices) if ((x -= w) < 0) return v;
  return choices[choices.length - 1]![0];
}
