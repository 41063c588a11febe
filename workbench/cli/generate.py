"""`generate`: a next-token run writes on from a prompt, as the page's prompt box does."""

from .common import USER_ERRORS, fail


def add_to(commands):
    parser = commands.add_parser("generate", help="continue a prompt with a next_token run's model")
    parser.add_argument("run_dir")
    parser.add_argument("--prompt", default="the", help="the text to continue (default: 'the')")
    parser.add_argument("--tokens", type=int, default=60, help="how many tokens to write (words or characters)")
    parser.add_argument("--temperature", type=float, default=0.8,
                        help="near 0: always the likeliest next token (greedy, the same text every time); 1: as "
                             "likely as the model says; above 1: flatter, stranger")
    parser.add_argument("--samples", type=int, default=1, help="how many continuations, each from its own seed")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=handle)


def handle(args) -> int:
    from ..inspection.text import continue_text

    try:
        for sample in range(max(1, args.samples)):
            print(continue_text(args.run_dir, args.prompt, args.tokens, args.temperature, args.seed + sample))
    except USER_ERRORS as error:
        return fail(str(error))
    return 0
