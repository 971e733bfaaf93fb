/**
 * What a guess tells about the word, letter by letter: `G` in the right place, `Y` in the word
 * elsewhere, `.` not in it (a letter that repeats counts as often as the word has it).
 *
 * @example
 * feedbackOf('slate', 'crane') // '..G.G'
 */
export function feedbackOf(guess: string, word: string): string {
  const marks = Array.from(guess, (letter, i) => (letter === word[i] ? 'G' : '.'));
  const unmatched = [...word].filter((letter, i) => marks[i] !== 'G');
  return marks
    .map((mark, i) => {
      const at = mark === 'G' ? -1 : unmatched.indexOf(guess[i]!);
      if (at < 0) return mark;
      unmatched.splice(at, 1);
      return 'Y';
    })
    .join('');
}
