"""Writes the tiny GGUF model System 2's tests serve with llama-server and llama-cpp-python's server.

Usage: make_model.py <out.gguf> [template]

`template` is the chat template the model carries: `chatml-tools` (the default, below) or one written the way a model
family writes its own: `llama3`, `qwen2.5` or `mistral` (FAMILY_TEMPLATES).

A llama-architecture model (one layer, embedding 384) whose weights are made, not trained: what it says is
decided by the last token alone, so a test knows what the real servers will stream back, token for token, at
temperature 0. The parts that make that so:
- the token embedding is one-hot and the attention and feed-forward outputs are zero, so the output layer reads
  the last token only: `output.weight` is a table of next-token scores (a bigram model);
- the chat template (ChatML, with Hermes/Qwen-style <tool_call> blocks, which llama.cpp recognises) ends the
  prompt with a marker token saying what comes next: <|tools|> when tools are offered on a user's turn (the model
  then writes "<tool_call>" and a newline, llama-server's trigger for its tool-call grammar), <|done|> after a tool's
  result (the model says "Done." and stops), neither for a plain chat (the model says "OK OK OK ..." until
  max_tokens);
- inside a grammar (a tool call's arguments, a JSON schema) the servers only let through what fits, and of that the
  table ranks `}` over `"` over `,` over digits: objects close as soon as they may, strings are empty, a number is
  "1.5", of an enum the word and of the tools the one whose name starts with n (navigate_to);
- no token holding a control character is ever ranked above a printable one (a raw control character inside a JSON
  string is what JSON parsers refuse), and the vocabulary has no space prefix (llama-server's grammar set-up fails
  on every constrained request with one).
The feed-forward weights are random (seeded), multiplied into a zero output: the servers compute them as for any
model. Nothing is downloaded.
"""

import sys
import textwrap

import numpy as np
from gguf import GGUFWriter, TokenType

# ChatML with Hermes/Qwen-style tools, written for these tests.
CHAT_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\n"
    "{%- if messages[0].role == 'system' %}{{ messages[0].content }}\n\n{% endif %}"
    "You may call these tools, one JSON object per call:\n<tools>\n"
    "{%- for tool in tools %}{{ tool | tojson }}\n{% endfor %}</tools>\n"
    'Call one as <tool_call>\n{"name": <tool name>, "arguments": <arguments object>}\n</tool_call><|im_end|>\n'
    "{%- elif messages[0].role == 'system' %}<|im_start|>system\n{{ messages[0].content }}<|im_end|>\n"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'system' %}"
    "{%- elif message.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ message.content }}\n</tool_response><|im_end|>\n"
    "{%- elif message.role == 'assistant' %}<|im_start|>assistant\n"
    "{%- if message.content %}{{ message.content }}{% endif %}"
    "{%- if message.tool_calls %}{% for call in message.tool_calls %}<tool_call>\n"
    '{"name": "{{ call.function.name }}", "arguments": '
    "{%- if call.function.arguments is string %}{{ call.function.arguments }}"
    "{%- else %}{{ call.function.arguments | tojson }}{% endif %}}\n</tool_call>"
    "{%- endfor %}{% endif %}<|im_end|>\n"
    "{%- else %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n"
    "{%- endif %}"
    "{%- endfor %}"
    # no "{%-" after the prompt's newline: it would strip it
    "{%- if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if tools and messages[-1].role == 'user' %}<|tools|>"
    "{% elif messages[-1].role == 'tool' %}<|done|>{% endif %}"
    "{% endif %}"
)

def _template(text):
    """A template written over several lines, as the families write theirs: every tag strips the line break before it."""
    return textwrap.dedent(text).strip()


# Chat templates written the way Llama 3.1's, Qwen 2.5's and Mistral's (v0.3) are: a turn's text is joined to strings
# with `+`, never printed alone. Handed a list of content parts, Qwen's and Mistral's fail ("can only concatenate str
# (not "list") to str") and Llama 3's, which trims the content first, prints the list's Python text into the prompt.
# What the made model then says is still decided by the prompt's last token: "OK OK OK ..." after the newline that
# ends Llama 3's and Qwen's prompts, "}" after Mistral's "[/INST]".
FAMILY_TEMPLATES = {
    "llama3": _template(
        r"""
        {{- bos_token }}
        {%- if messages[0]['role'] == 'system' %}
            {%- set system_message = messages[0]['content'] | trim %}
            {%- set messages = messages[1:] %}
        {%- else %}
            {%- set system_message = '' %}
        {%- endif %}
        {{- '<|start_header_id|>system<|end_header_id|>\n\n' }}
        {%- if tools %}{{- 'Environment: ipython\n\n' }}{%- endif %}
        {{- system_message + '<|eot_id|>' }}
        {%- if tools and messages | length > 0 and messages[0]['role'] == 'user' %}
            {%- set first_user_message = messages[0]['content'] | trim %}
            {%- set messages = messages[1:] %}
            {{- '<|start_header_id|>user<|end_header_id|>\n\n' }}
            {{- 'Answer in words, or call one of these functions with {"name": its name, "parameters": its arguments}:\n\n' }}
            {%- for tool in tools %}{{- tool | tojson }}{{- '\n\n' }}{%- endfor %}
            {{- first_user_message + '<|eot_id|>' }}
        {%- endif %}
        {%- for message in messages %}
            {%- if message.role == 'tool' or message.role == 'ipython' %}
                {{- '<|start_header_id|>ipython<|end_header_id|>\n\n' }}
                {%- if message.content is string %}{{- message.content }}{%- else %}{{- message.content | tojson }}{%- endif %}
                {{- '<|eot_id|>' }}
            {%- elif message.tool_calls is defined and message.tool_calls %}
                {%- set call = message.tool_calls[0].function %}
                {{- '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "' + call.name + '", "parameters": ' }}
                {%- if call.arguments is string %}{{- call.arguments }}{%- else %}{{- call.arguments | tojson }}{%- endif %}
                {{- '}<|eot_id|>' }}
            {%- else %}
                {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}
            {%- endif %}
        {%- endfor %}
        {%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}
        """
    ),
    "qwen2.5": _template(
        r"""
        {%- if tools %}
            {{- '<|im_start|>system\n' }}
            {%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}
            {{- '\n\n# Tools\n\nThe functions you may call, one JSON signature a line:\n<tools>' }}
            {%- for tool in tools %}{{- '\n' }}{{- tool | tojson }}{%- endfor %}
            {{- '\n</tools>\n\nTo call one, write a JSON object with its name and arguments between <tool_call></tool_call> tags:\n' }}
            {{- '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' }}
        {%- elif messages[0]['role'] == 'system' %}
            {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
        {%- else %}
            {{- '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}
        {%- endif %}
        {%- for message in messages %}
            {%- if message.role == 'user' or (message.role == 'system' and not loop.first) or (message.role == 'assistant' and not message.tool_calls) %}
                {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}
            {%- elif message.role == 'assistant' %}
                {{- '<|im_start|>assistant' }}
                {%- if message.content %}{{- '\n' + message.content }}{%- endif %}
                {%- for call in message.tool_calls %}
                    {%- set fn = call.function if call.function is defined else call %}
                    {{- '\n<tool_call>\n{"name": "' + fn.name + '", "arguments": ' }}
                    {%- if fn.arguments is string %}{{- fn.arguments }}{%- else %}{{- fn.arguments | tojson }}{%- endif %}
                    {{- '}\n</tool_call>' }}
                {%- endfor %}
                {{- '<|im_end|>\n' }}
            {%- elif message.role == 'tool' %}
                {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}
                {{- '\n<tool_response>\n' }}{{- message.content }}{{- '\n</tool_response>' }}
                {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\n' }}{%- endif %}
            {%- endif %}
        {%- endfor %}
        {%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}
        """
    ),
    "mistral": _template(
        r"""
        {%- if messages[0]['role'] == 'system' %}
            {%- set system_message = messages[0]['content'] %}
            {%- set loop_messages = messages[1:] %}
        {%- else %}
            {%- set loop_messages = messages %}
        {%- endif %}
        {%- set ns = namespace(last_user=-1) %}
        {%- for message in loop_messages %}
            {%- if message['role'] == 'user' %}{%- set ns.last_user = loop.index0 %}{%- endif %}
        {%- endfor %}
        {{- bos_token }}
        {%- for message in loop_messages %}
            {%- if message['role'] == 'user' %}
                {%- if tools and loop.index0 == ns.last_user %}
                    {{- '[AVAILABLE_TOOLS] [' }}
                    {%- for tool in tools %}{{- tool | tojson }}{%- if not loop.last %}{{- ', ' }}{%- endif %}{%- endfor %}
                    {{- '][/AVAILABLE_TOOLS]' }}
                {%- endif %}
                {%- if loop.last and system_message is defined %}
                    {{- '[INST] ' + system_message + '\n\n' + message['content'] + '[/INST]' }}
                {%- else %}
                    {{- '[INST] ' + message['content'] + '[/INST]' }}
                {%- endif %}
            {%- elif message['role'] == 'tool' %}
                {{- '[TOOL_RESULTS] {"call_id": "' + message['tool_call_id'] + '", "content": ' }}
                {{- message['content'] | tojson }}{{- '}[/TOOL_RESULTS]' }}
            {%- elif message['role'] == 'assistant' and message.tool_calls is defined and message.tool_calls %}
                {{- '[TOOL_CALLS] [' }}
                {%- for call in message.tool_calls %}
                    {{- '{"name": "' + call.function.name + '", "arguments": ' }}
                    {%- if call.function.arguments is string %}{{- call.function.arguments }}{%- else %}{{- call.function.arguments | tojson }}{%- endif %}
                    {{- ', "id": "' + call.id + '"}' }}
                    {%- if not loop.last %}{{- ', ' }}{%- endif %}
                {%- endfor %}
                {{- ']' + eos_token }}
            {%- elif message['role'] == 'assistant' %}
                {{- ' ' + message['content'] + eos_token }}
            {%- else %}
                {{- raise_exception('after an optional first system turn, only user, assistant and tool turns are supported') }}
            {%- endif %}
        {%- endfor %}
        """
    ),
}
TEMPLATES = {"chatml-tools": CHAT_TEMPLATE, **FAMILY_TEMPLATES}


SPECIAL = [
    ("<unk>", TokenType.UNKNOWN),
    ("<s>", TokenType.CONTROL),
    ("</s>", TokenType.CONTROL),
    ("<|im_start|>", TokenType.CONTROL),
    ("<|im_end|>", TokenType.CONTROL),
    ("<tool_call>", TokenType.USER_DEFINED),
    ("</tool_call>", TokenType.USER_DEFINED),
    ("<|tools|>", TokenType.USER_DEFINED),
    ("<|done|>", TokenType.USER_DEFINED),
]
SPACE = "\u2581"  # how a SentencePiece vocabulary writes a space


def vocabulary():
    tokens = [(text, kind) for text, kind in SPECIAL]
    tokens += [(f"<0x{b:02X}>", TokenType.BYTE) for b in range(256)]
    tokens += [(SPACE, TokenType.NORMAL)] + [(chr(c), TokenType.NORMAL) for c in range(0x21, 0x7F)]
    return tokens


def next_token_table(ids, n_vocab):
    """table[next, last]: the score of each next token after each last one."""
    table = np.full((n_vocab, n_vocab), -10.0, dtype=np.float32)
    for never in ("<unk>", "<s>", "</s>", "<|im_start|>", "<|tools|>", "<|done|>"):
        table[ids[never], :] = -100.0
    for b in range(256):
        table[ids[f"<0x{b:02X}>"], :] = -50.0  # bytes (newline, control characters) last of all
    table[ids[SPACE], :] = -20.0  # below every printable character: no runs of spaces inside a grammar
    # The ranking a grammar chooses from: close, then separate, then the shortest value.
    ranked = {"}": 10, "</tool_call>": 9.5, '"': 9, ",": 8, ":": 7, "{": 6.5, "]": 6.4, "[": 6.3, "n": 6.2}
    ranked |= {"1": 6, "5": 5.9, ".": 5.5, "<|im_end|>": 5, "<tool_call>": 4}
    for text, score in ranked.items():
        table[ids[text], :] = score
    for c in "abcdefghijklmopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ02346789-_":
        table[ids[c], :] = 3.0
    # What follows one token in particular (+40 wins over any ranking above where the grammar allows it, also after
    # llama-cpp-python's default repeat penalty of 1.1).
    follows = {
        "<0x0A>": "O",  # a plain chat: "OK OK OK ..."
        "O": "K",
        "K": SPACE,
        SPACE: "O",
        "<|tools|>": "<tool_call>",  # a user's turn with tools: a call
        "<tool_call>": "<0x0A>",  # the newline llama-server's analysis found after it (its trigger)
        "</tool_call>": "<|im_end|>",
        "<|done|>": "D",  # after a tool's result: "Done."
        "D": "o",
        "o": "n",
        "n": "e",
        "e": ".",
        ".": "5",  # numbers: 1.5
        "1": ".",
        "5": ",",
    }
    for last, then in follows.items():
        table[ids[then], ids[last]] += 40.0
    # A newline is a byte token (ranked last of all): after <tool_call> it needs more than +40.
    table[ids["<0x0A>"], ids["<tool_call>"]] += 40.0
    # After "Done." the end; inside a number, where the grammar allows no end, "5".
    table[ids["<|im_end|>"], ids["."]] += 42.0
    return table


def main(out, template="chatml-tools"):
    tokens = vocabulary()
    ids = {text: i for i, (text, _) in enumerate(tokens)}
    n_vocab = len(tokens)
    n_embd, n_head, n_ff = 384, 6, 64
    assert n_vocab <= n_embd
    rng = np.random.default_rng(45)

    writer = GGUFWriter(out, "llama")
    writer.add_name("auraison-edge test model (made, not trained)")
    writer.add_context_length(16384)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(1)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_rope_dimension_count(n_embd // n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(0)  # all F32
    writer.add_vocab_size(n_vocab)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([text for text, _ in tokens])
    writer.add_token_scores([0.0] * n_vocab)
    writer.add_token_types([int(kind) for _, kind in tokens])
    writer.add_bos_token_id(ids["<s>"])
    writer.add_eos_token_id(ids["<|im_end|>"])
    writer.add_unk_token_id(ids["<unk>"])
    writer.add_pad_token_id(ids["</s>"])
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(False)
    writer.add_chat_template(TEMPLATES[template])

    embedding = np.zeros((n_vocab, n_embd), dtype=np.float32)
    embedding[np.arange(n_vocab), np.arange(n_vocab)] = 1.0
    output = np.zeros((n_vocab, n_embd), dtype=np.float32)
    output[:, :n_vocab] = next_token_table(ids, n_vocab)
    zero = np.zeros((n_embd, n_embd), dtype=np.float32)
    writer.add_tensor("token_embd.weight", embedding)
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("output.weight", output)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        writer.add_tensor(f"blk.0.{name}.weight", zero)
    writer.add_tensor("blk.0.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("blk.0.ffn_gate.weight", rng.normal(0, 0.02, (n_ff, n_embd)).astype(np.float32))
    writer.add_tensor("blk.0.ffn_up.weight", rng.normal(0, 0.02, (n_ff, n_embd)).astype(np.float32))
    writer.add_tensor("blk.0.ffn_down.weight", np.zeros((n_embd, n_ff), dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] not in TEMPLATES):
        sys.exit(f"usage: make_model.py <out.gguf> [{'|'.join(TEMPLATES)}]")
    main(*sys.argv[1:])
