import { execFile, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

// The real ffmpeg for the tests of the README's ffmpeg recipes: the static build that the
// devDependency @ffmpeg-installer/ffmpeg ships inside its npm package for the platforms it knows
// (linux-x64 among them), so nothing has to be installed besides `npm ci`.

export type RealFfmpeg = { path: string; skip?: undefined } | { path?: undefined; skip: string };

export const REAL_FFMPEG: RealFfmpeg = locate();

/** A test's name, with why it is skipped when there is no ffmpeg here. */
export function withFfmpeg(name: string): string {
  return REAL_FFMPEG.skip === undefined ? name : `${name} (skipped: ${REAL_FFMPEG.skip})`;
}

function locate(): RealFfmpeg {
  let path: string;
  try {
    path = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch (error) {
    // The package throws a plain string for a platform it has no binary for.
    return { skip: `@ffmpeg-installer/ffmpeg has no ffmpeg for ${process.platform}-${process.arch}: ${String(error)}` };
  }
  const probe = spawnSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0) return { skip: `${path} does not run: ${probe.error?.message ?? probe.stderr.trim()}` };
  if (!probe.stdout.includes('--enable-libx264')) return { skip: `${path} was built without libx264` };
  return { path };
}

/**
 * A real 2-second H.264/AAC clip (a test pattern and a sine tone), the input of the transcodes;
 * the container follows `output`'s extension (.mp4, .mov).
 */
export async function makeTestVideo(ffmpeg: string, output: string): Promise<void> {
  await promisify(execFile)(
    ffmpeg,
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', 'testsrc=duration=2:size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=duration=2'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', output],
    ],
    { timeout: 60_000 },
  );
}

/** A fragmented MP4 starts with `ftyp` and carries `moof` boxes: what `frag_keyframe+empty_moov` makes. */
export function isFragmentedMp4(data: Buffer): boolean {
  return data.subarray(4, 8).toString('latin1') === 'ftyp' && data.includes('moof');
}
