import { type CommandIO, parseCommandArgs, UsageError } from 'auraison-edge/cli-kit';
import { errorText } from 'auraison-edge/util';

/**
 * `auraison-edge central keygen --out FILE [--json]`: central's command signing key (Ed25519). The private key
 * goes to FILE (PEM, mode 0600; central.yaml's mqtt.command_key names it), its public key to FILE.pub, and the
 * public key is printed as the line each robot's config takes in central.command_keys. A key already there is
 * never replaced: every robot pinned it.
 */
export async function centralKeygen(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(argv, { out: { type: 'string' }, json: { type: 'boolean' } });
  const out = values.out;
  if (out === undefined)
    throw new UsageError('--out FILE is required: where to write the private key (central.yaml: mqtt.command_key)');
  const { writeCommandKey } = await import('../command-signer.ts');
  let publicKey: string;
  try {
    publicKey = writeCommandKey(out);
  } catch (error) {
    io.stderr(`auraison-edge central keygen: ${errorText(error)}\n`);
    return 1;
  }
  if (values.json) io.stdout(`${JSON.stringify({ private_key_file: out, public_key: publicKey })}\n`);
  else
    io.stdout(
      `private key: ${out} (keep it on central; central.yaml: mqtt.command_key: ${out})\n` +
        `public key (also in ${out}.pub), for each robot's config:\n\n` +
        `central:\n  command_keys:\n    - ${publicKey}\n`,
    );
  return 0;
}
