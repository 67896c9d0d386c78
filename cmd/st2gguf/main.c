/* st2gguf: convert a Hugging Face model folder (or requantize a GGUF) to
 * GGUF for llama.cpp.
 *
 * TEMPORARY front end of the hfconv branch: the requant helper owns this
 * file (options, GGUF input, presets); this version dispatches folders to
 * st2gguf_from_hf only, so the HF path can be built and tested meanwhile. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "quant.h"
#include "st2gguf.h"

/* llama.cpp file types: name, general.file_type, default tensor type */
static const struct {
	const char *name;
	int ftype, type;
} presets[] = {
	{ "F32", 0, QF_F32 }, { "F16", 1, QF_F16 }, { "BF16", 32, QF_BF16 },
	{ "Q4_0", 2, QF_Q4_0 }, { "Q4_1", 3, QF_Q4_1 }, { "Q8_0", 7, QF_Q8_0 },
	{ "Q5_0", 8, QF_Q5_0 }, { "Q5_1", 9, QF_Q5_1 }, { "Q2_K", 10, QF_Q2_K },
	{ "Q3_K_S", 11, QF_Q3_K }, { "Q3_K_M", 12, QF_Q3_K }, { "Q3_K_L", 13, QF_Q3_K },
	{ "Q4_K_S", 14, QF_Q4_K }, { "Q4_K_M", 15, QF_Q4_K }, { "Q5_K_S", 16, QF_Q5_K },
	{ "Q5_K_M", 17, QF_Q5_K }, { "Q6_K", 18, QF_Q6_K }, { "IQ4_NL", 25, QF_IQ4_NL },
	{ "IQ4_XS", 30, QF_IQ4_XS },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-q] [--plan] [-t TYPE|PRESET] [--pure] [--tensor-type PATTERN=TYPE]\n"
	    "       [--output-tensor-type TYPE] [--token-embedding-type TYPE] [--imatrix FILE]\n"
	    "       [--vocab auto|none] [-j N] MODEL_DIR -o OUT.gguf\n", cli_prog());
}

static int
parse_type(const char *s, const char *opt)
{
	int t = qfmt_from_name(s);

	if (t < 0 || !qfmt_table[t].is_ggml)
		cli_usage_error("%s: unknown type '%s'", opt, s);
	return t;
}

int
main(int argc, char **argv)
{
	enum { O_PURE = 256, O_TT, O_OTT, O_TET, O_IMAT, O_VOCAB, O_PLAN, O_HELP, O_VERSION };
	static const struct option longopts[] = {
		{ "pure", no_argument, NULL, O_PURE },
		{ "tensor-type", required_argument, NULL, O_TT },
		{ "output-tensor-type", required_argument, NULL, O_OTT },
		{ "token-embedding-type", required_argument, NULL, O_TET },
		{ "imatrix", required_argument, NULL, O_IMAT },
		{ "vocab", required_argument, NULL, O_VOCAB },
		{ "plan", no_argument, NULL, O_PLAN },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct st2gguf_opts o;
	struct stat st;
	int c;
	size_t i;

	cli_init(argv[0]);
	memset(&o, 0, sizeof o);
	o.ftype = -1;
	o.default_type = -1;
	o.output_tensor_type = -1;
	o.token_embedding_type = -1;
	o.jobs = 0;
	while ((c = getopt_long(argc, argv, "o:t:j:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.output = optarg; break;
		case 't':
			o.type_name = optarg;
			for (i = 0; i < sizeof presets / sizeof presets[0]; i++)
				if (strcasecmp(presets[i].name, optarg) == 0) {
					o.ftype = presets[i].ftype;
					o.default_type = presets[i].type;
				}
			if (o.default_type < 0) {
				o.default_type = parse_type(optarg, "-t");
				o.pure = 1;	/* a bare type: every tensor in it */
			}
			break;
		case 'j': o.jobs = cli_parse_jobs(optarg); break;
		case 'q': o.quiet = 1; break;
		case O_PURE: o.pure = 1; break;
		case O_TT: {
			char *eq = strrchr(optarg, '=');

			if (!eq || eq == optarg || o.n_rules == MAX_TENSOR_TYPES)
				cli_usage_error("--tensor-type: expected PATTERN=TYPE");
			*eq = 0;
			o.rules[o.n_rules].pattern = optarg;
			o.rules[o.n_rules++].type = parse_type(eq + 1, "--tensor-type");
			break;
		}
		case O_OTT: o.output_tensor_type = parse_type(optarg, "--output-tensor-type"); break;
		case O_TET: o.token_embedding_type = parse_type(optarg, "--token-embedding-type"); break;
		case O_IMAT: o.imatrix = optarg; break;
		case O_VOCAB:
			if (strcmp(optarg, "none") && strcmp(optarg, "auto"))
				cli_usage_error("--vocab: expected auto or none");
			o.vocab = optarg;
			break;
		case O_PLAN: o.plan = 1; break;
		case O_HELP: usage(stdout); cli_close_stdout(); return 0;
		case O_VERSION: cli_version();
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1)
		cli_usage_error("expected one input");
	o.input = argv[optind];
	if (!o.output && !o.plan)
		cli_usage_error("-o OUTPUT is required");
	if (stat(o.input, &st) != 0)
		cli_die("%s: no such file or folder", o.input);
	if (!S_ISDIR(st.st_mode))
		cli_die("%s: GGUF input is handled by the requant front end (not in this build)",
		    o.input);
	return st2gguf_from_hf(&o);
}
