// A strict little XML well-formedness check for tests (no XML parser is a dependency): every
// tag balanced, attributes quoted and unique, only the five predefined entities or numeric
// references, no raw '<' or '&' in text, no characters XML 1.0 forbids. Returns the problems.
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITY = /^&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function decode(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(x?)([0-9a-fA-F]+);/g, (_, x: string, n: string) => String.fromCodePoint(parseInt(n, x ? 16 : 10)))
    .replace(/&amp;/g, '&');
}

function checkText(text: string, where: string): void {
  if (FORBIDDEN.test(text)) throw new Error(`forbidden character in ${where}`);
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) {
    if (!ENTITY.test(text.slice(i))) throw new Error(`bare & in ${where}: ${text.slice(i, i + 12)}`);
  }
  if (text.includes('<')) throw new Error(`bare < in ${where}`);
}

/** Parses `xml` (throws on the first well-formedness error) and returns the root element. */
export function parseXml(xml: string): XmlElement {
  let pos = 0;
  const decl = /^<\?xml[^?]*\?>\s*/.exec(xml);
  if (decl) pos = decl[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const text = xml.slice(pos, lt === -1 ? xml.length : lt);
    checkText(text, 'text');
    if (stack.length) stack[stack.length - 1]!.text += decode(text);
    else if (text.trim()) throw new Error(`text outside the root: ${text.trim().slice(0, 20)}`);
    if (lt === -1) break;
    const gt = xml.indexOf('>', lt);
    if (gt === -1) throw new Error('unterminated tag');
    const tag = xml.slice(lt + 1, gt);
    pos = gt + 1;
    if (tag.startsWith('/')) {
      const open = stack.pop();
      if (!open || open.name !== tag.slice(1).trim()) throw new Error(`mismatched </${tag.slice(1)}>`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = /^([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"]*")*)\s*$/.exec(body);
    if (!m) throw new Error(`malformed tag <${tag.slice(0, 40)}>`);
    const el: XmlElement = { name: m[1]!, attrs: {}, children: [], text: '' };
    for (const a of m[2]!.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) {
      if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]}`);
      checkText(a[2]!, `attribute ${a[1]}`);
      el.attrs[a[1]!] = decode(a[2]!);
    }
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    else if (root) throw new Error('second root element');
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}
