import { describe, expect, it } from 'vitest';
import { filenameFromContentDisposition, filenameFromUrl } from '../../lib/sources/content-disposition';
import { chooseContentType } from '../../lib/cli/sources/content-type';

describe('filenameFromContentDisposition (RFC 6266)', () => {
  it.each([
    ['attachment; filename="clip.mp4"', 'clip.mp4'],
    ['attachment; filename=clip.mp4', 'clip.mp4'],
    ['inline; filename="a \\"quoted\\" name.mov"', 'a "quoted" name.mov'],
    ['attachment; filename="semi;colon.mp4"; size=3', 'semi;colon.mp4'],
    // filename* wins, whichever comes first; UTF-8 and ISO-8859-1 are decoded.
    [`attachment; filename*=UTF-8''%E2%82%AC%20rates.mp4; filename="EUR rates.mp4"`, '€ rates.mp4'],
    [`attachment; filename="fallback.bin"; filename*=utf-8'en'caf%C3%A9.mov`, 'café.mov'],
    [`attachment; filename*=ISO-8859-1''caf%E9.mov`, 'café.mov'],
    // An undecodable filename* falls back to filename.
    [`attachment; filename*=UTF-8''%FF%FE.mov; filename="plain.mov"`, 'plain.mov'],
    [`attachment; filename*=KOI8-R''x.mov; filename="plain.mov"`, 'plain.mov'],
    // Path parts are not to be trusted: only the last segment is kept.
    ['attachment; filename="../../etc/passwd"', 'passwd'],
    ['attachment; filename="C:\\\\Users\\\\x\\\\clip.mp4"', 'clip.mp4'],
    ['attachment; FILENAME="upper.mp4"', 'upper.mp4'],
  ])('%s → %s', (header, name) => expect(filenameFromContentDisposition(header)).toBe(name));

  it.each([[undefined], ['attachment'], ['attachment; filename=""'], ['attachment; filename=".."'], ['attachment; filename="\u0001"']])('%j gives no name', (header) => {
    expect(filenameFromContentDisposition(header)).toBeUndefined();
  });

  it('the URL: its last non-empty segment, decoded', () => {
    expect(filenameFromUrl(new URL('https://cdn.example/a/b/clip%20one.mp4?sig=1'))).toBe('clip one.mp4');
    expect(filenameFromUrl(new URL('https://cdn.example/a/folder/'))).toBe('folder');
    expect(filenameFromUrl(new URL('https://cdn.example/'))).toBeUndefined();
    expect(filenameFromUrl(new URL('https://cdn.example/bad%E0%A4%A'))).toBe('bad%E0%A4%A');
  });
});

describe('chooseContentType', () => {
  it('the flag, else the answer (unless it only says "bytes"), else the name', () => {
    expect(chooseContentType('a.mp4', 'video/webm', 'video/x-custom')).toBe('video/x-custom');
    expect(chooseContentType('a.mp4', 'Video/WebM; codecs="vp9"')).toBe('video/webm');
    expect(chooseContentType('a.jpg', 'binary/octet-stream')).toBe('image/jpeg');
    expect(chooseContentType('a.jpg', 'application/octet-stream')).toBe('image/jpeg');
    expect(chooseContentType('a.jpg', 'not a type')).toBe('image/jpeg');
    expect(chooseContentType('noext', undefined)).toBe('application/octet-stream');
  });
});
