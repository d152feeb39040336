// The filename of a Content-Disposition header (RFC 6266): `filename*` (RFC 8187 ext-value,
// UTF-8 or ISO-8859-1, percent-encoded) wins over `filename` (a token or a quoted string).

interface Parameter {
  name: string;
  value: string;
}

/** `type; a=b; c="d; \"e\""` → [{a, b}, {c, 'd; "e"'}]; a malformed tail ends the list. */
function parameters(header: string): Parameter[] {
  const out: Parameter[] = [];
  let i = header.indexOf(';');
  if (i === -1) return out;
  while (i < header.length) {
    i++; // past ';'
    const eq = header.indexOf('=', i);
    if (eq === -1) break;
    const name = header.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (header[i] === ' ' || header[i] === '\t') i++;
    let value = '';
    if (header[i] === '"') {
      i++;
      for (; i < header.length && header[i] !== '"'; i++) {
        if (header[i] === '\\' && i + 1 < header.length) i++;
        value += header[i];
      }
      i++; // past the closing quote
      const next = header.indexOf(';', i);
      i = next === -1 ? header.length : next;
    } else {
      const next = header.indexOf(';', i);
      value = header.slice(i, next === -1 ? header.length : next).trim();
      i = next === -1 ? header.length : next;
    }
    if (name !== '') out.push({ name, value });
  }
  return out;
}

/** RFC 8187: charset'language'percent-encoded; undefined when it cannot be decoded. */
function extValue(value: string): string | undefined {
  const match = /^([A-Za-z0-9!#$%&+^_`{}~-]+)'[^']*'(.*)$/.exec(value);
  if (!match) return undefined;
  const [, charset = '', encoded = ''] = match;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === '%') {
      const hex = encoded.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(encoded.charCodeAt(i) & 0xff);
    }
  }
  const label = charset.toLowerCase();
  if (label === 'utf-8') {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    } catch {
      return undefined;
    }
  }
  if (label === 'iso-8859-1') return String.fromCharCode(...bytes);
  return undefined;
}

/**
 * A name safe to send: only the last path segment (RFC 6266 §4.3: directory parts are not to be
 * trusted), no control characters, not empty, not `.` or `..`.
 */
export function safeFilename(name: string): string | undefined {
  const last = name.split(/[/\\]/).pop() ?? '';
  const clean = last.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean === '' || clean === '.' || clean === '..' ? undefined : clean;
}

export function filenameFromContentDisposition(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const params = parameters(header);
  const extended = params.find((p) => p.name === 'filename*');
  const decoded = extended === undefined ? undefined : extValue(extended.value);
  const plain = params.find((p) => p.name === 'filename')?.value;
  return safeFilename(decoded ?? plain ?? '');
}

/** The URL's last non-empty path segment, percent-decoded. */
export function filenameFromUrl(url: URL): string | undefined {
  const segment = url.pathname.split('/').filter((s) => s !== '').pop();
  if (segment === undefined) return undefined;
  try {
    return safeFilename(decodeURIComponent(segment));
  } catch {
    return safeFilename(segment);
  }
}
