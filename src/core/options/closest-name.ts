// Names longer than this get no suggestion: the distance table grows with both lengths.
const MAX_COMPARED_LENGTH = 64;

/**
 * The edit distance between two names (insertions, deletions, substitutions, and swaps of two
 * neighbouring characters each count one), compared without case.
 */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  // previous2, previous and current rows of the distance table.
  let previous2: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const substitution = x[i - 1] === y[j - 1] ? 0 : 1;
      let distance = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + substitution,
      );
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1])
        distance = Math.min(distance, previous2[j - 2]! + 1);
      current.push(distance);
    }
    previous2 = previous;
    previous = current;
  }
  return previous[y.length]!;
}

/**
 * The known name `name` most likely misspells, for a "did you mean" hint: the closest one within
 * a third of its length (at least 2 edits), or one that `name` starts (`ttl` for `ttlSec`).
 * Undefined when none is close.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  if (name.length === 0 || name.length > MAX_COMPARED_LENGTH) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    const close =
      distance <= Math.max(2, Math.floor(candidate.length / 3)) ||
      (name.length >= 3 && candidate.toLowerCase().startsWith(name.toLowerCase()));
    if (close && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
