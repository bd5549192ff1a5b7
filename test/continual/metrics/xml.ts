// A strict-enough XML check for the SVG writers' tests: one root element,
// every tag closed in order, attributes quoted, text free of bare '<' and '&'.
// Returns the list of problems (empty when well formed).
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  let position = 0;
  const tag = /<[^>]*>/g;
  for (let match = tag.exec(body); match !== null; match = tag.exec(body)) {
    const textBetween = body.slice(position, match.index);
    if (/<|&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(textBetween)) problems.push(`bad text: ${JSON.stringify(textBetween.slice(0, 40))}`);
    if (stack.length === 0 && textBetween.trim() !== '') problems.push('text outside the root element');
    position = match.index + match[0].length;
    const token = match[0];
    if (token.startsWith('<!--')) continue;
    const closing = /^<\/([A-Za-z][\w:-]*)\s*>$/.exec(token);
    if (closing !== null) {
      const open = stack.pop();
      if (open !== closing[1]) problems.push(`</${closing[1]}> closes <${open ?? 'nothing'}>`);
      continue;
    }
    const opening = /^<([A-Za-z][\w:-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<]*")*)\s*(\/?)>$/.exec(token);
    if (opening === null) {
      problems.push(`malformed tag ${token.slice(0, 60)}`);
      continue;
    }
    if (stack.length === 0) roots++;
    if (opening[3] !== '/') stack.push(opening[1]!);
  }
  if (body.slice(position).trim() !== '') problems.push('text after the root element');
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

/** How many times `needle` occurs in `haystack`. */
export function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}
