/** The largest number in a set; 0 when empty. A loop, because spreading 100,000 arguments overflows the stack. */
export function highest(numbers: Iterable<number>): number {
  let max = 0;
  for (const n of numbers) if (n > max) max = n;
  return max;
}
