/* st2gguf: make a GGUF for llama.cpp, quantized as llama-quantize would.
 *
 * A GGUF input is requantized (requant.c); a Hugging Face folder is
 * converted (hf.c).  This file parses the options and dispatches. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ftype.h"
#include "quant.h"
#include "st2gguf.h"
#include "threads.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [-t TYPE] [options] INPUT -o OUTPUT.gguf\n"
	    "  INPUT              an F32/F16/BF16 GGUF file to requantize, or a Hugging Face folder\n"
	    "                     (float, FP8, or packed: AWQ, GPTQ, compressed-tensors, Quark)\n"
	    "  -t, --type TYPE    a llama.cpp file type (Q4_K_M, Q8_0, IQ4_NL, ...) or a ggml type;\n"
	    "                     required for a GGUF; a folder defaults to F16, and its packed\n"
	    "                     weights keep their codes as Q4_0/Q4_1/Q8_0/MXFP4/NVFP4 blocks where they fit\n"
	    "  -o, --output FILE  output GGUF (- for standard output)\n"
	    "      --pure         every quantizable tensor gets TYPE (no per-tensor mixture)\n"
	    "      --tensor-type PATTERN=TYPE\n"
	    "                     tensors whose name matches the regex get TYPE (repeatable)\n"
	    "      --output-tensor-type TYPE      type of output.weight\n"
	    "      --token-embedding-type TYPE    type of token_embd.weight\n"
	    "      --leave-output-tensor          keep output.weight as it is\n"
	    "      --imatrix FILE     importance matrix (GGUF or legacy .dat)\n"
	    "  -p, --qparams FILE (folders) qcalib's scales: int4 and int8 symmetric groups\n"
	    "                     of 32 become Q4_0 and Q8_0 blocks without re-choosing them\n"
	    "      --allow-requantize quantize tensors that are already quantized (a folder's\n"
	    "                     packed weights: dequantized, then quantized to TYPE)\n"
	    "      --list-types       print the file types and ggml types, then exit\n"
	    "      --vocab auto|none  (folders) none: no tokenizer, evaluate by token ids\n"
	    "      --plan             (folders) print tensors, types, bytes; write nothing\n"
	    "      --split-max-size SIZE, --split-max-tensors N\n"
	    "                         (folders) shards OUTPUT-00001-of-0000N.gguf as gguf-split\n"
	    "  -j, --jobs N       threads (default: all cores)\n"
	    "  -q, --quiet        no progress\n"
	    "      --help, --version\n", cli_prog());
}

static void
list_types(void)
{
	printf("file types (llama-quantize presets):\n");
	for (size_t i = 0; i < ftype_npresets; i++)
		printf("  %-10s id %2d, tensors start as %s\n", ftype_presets[i].name,
		    ftype_presets[i].ftype, qfmt_table[ftype_presets[i].type].name);
	printf("ggml types (as -t: every quantizable tensor, like --pure):\n ");
	for (int f = 0; f < QF_GGML_COUNT; f++)
		if (qfmt_is_valid(f) && qfmt_table[f].quantize)
			printf(" %s", qfmt_table[f].name);
	printf("\n");
}

static int
ggml_type_arg(const char *opt, const char *name)
{
	int t = qfmt_from_name(name);

	if (t < 0 || !qfmt_table[t].is_ggml)
		cli_die("%s: unknown ggml type '%s' (see --list-types)", opt, name);
	return t;
}

/* Type names are data, not syntax: an unknown one is bad input (exit 1).
 * -t: a preset as llama-quantize names it, else a ggml type, which we take
 * as --pure with the file type whose tensors start from that type. */
static void
set_type(struct st2gguf_opts *o, const char *name)
{
	const struct ftype_preset *p = ftype_find(name);
	int t;

	o->type_name = name;
	if (p) {
		o->ftype = p->ftype;
		o->default_type = p->type;
		return;
	}
	t = qfmt_from_name(name);
	if (t < 0 || !qfmt_table[t].is_ggml)
		cli_die("-t: unknown type '%s' (see --list-types)", name);
	if (t != QF_NVFP4 && (o->ftype = ftype_of_type(t)) >= 0) {	/* NVFP4: no quantizer */
		o->default_type = t;
		o->pure = 1;
		return;
	}
	cli_die("-t: %s is a ggml type no llama.cpp file type uses (see --list-types)", name);
}

static void
add_tensor_type(struct st2gguf_opts *o, char *arg)
{
	char *eq = strrchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		cli_usage_error("--tensor-type: expected PATTERN=TYPE, got '%s'", arg);
	if (o->n_rules == MAX_TENSOR_TYPES)
		cli_usage_error("--tensor-type: at most %d", MAX_TENSOR_TYPES);
	*eq = 0;
	o->rules[o->n_rules].pattern = arg;
	o->rules[o->n_rules].type = ggml_type_arg("--tensor-type", eq + 1);
	o->n_rules++;
}

enum {
	OPT_PURE = 256, OPT_TENSOR_TYPE, OPT_OUTPUT_TYPE, OPT_EMBD_TYPE, OPT_IMATRIX,
	OPT_LEAVE_OUTPUT, OPT_ALLOW_REQUANT, OPT_LIST, OPT_HELP, OPT_VERSION, OPT_VOCAB, OPT_PLAN,
	OPT_SPLIT_SIZE, OPT_SPLIT_TENSORS
};

static const struct option longopts[] = {
	{ "type", required_argument, NULL, 't' },
	{ "output", required_argument, NULL, 'o' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "pure", no_argument, NULL, OPT_PURE },
	{ "tensor-type", required_argument, NULL, OPT_TENSOR_TYPE },
	{ "output-tensor-type", required_argument, NULL, OPT_OUTPUT_TYPE },
	{ "token-embedding-type", required_argument, NULL, OPT_EMBD_TYPE },
	{ "leave-output-tensor", no_argument, NULL, OPT_LEAVE_OUTPUT },
	{ "imatrix", required_argument, NULL, OPT_IMATRIX },
	{ "qparams", required_argument, NULL, 'p' },
	{ "allow-requantize", no_argument, NULL, OPT_ALLOW_REQUANT },
	{ "list-types", no_argument, NULL, OPT_LIST },
	{ "vocab", required_argument, NULL, OPT_VOCAB },
	{ "plan", no_argument, NULL, OPT_PLAN },
	{ "split-max-size", required_argument, NULL, OPT_SPLIT_SIZE },
	{ "split-max-tensors", required_argument, NULL, OPT_SPLIT_TENSORS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct st2gguf_opts o;
	struct stat st;
	int c;

	cli_init(argv[0]);
	memset(&o, 0, sizeof o);
	o.ftype = -1;
	o.default_type = -1;
	o.output_tensor_type = -1;
	o.token_embedding_type = -1;
	o.quantize_output_tensor = 1;
	o.jobs = qpool_ncpu();
	while ((c = getopt_long(argc, argv, "t:o:j:qp:", longopts, NULL)) != -1) {
		switch (c) {
		case 't': set_type(&o, optarg); break;
		case 'o': o.output = optarg; break;
		case 'j': o.jobs = cli_parse_jobs(optarg); break;
		case 'q': o.quiet = 1; break;
		case 'p': o.qparams = optarg; break;
		case OPT_PURE: o.pure = 1; break;
		case OPT_TENSOR_TYPE: add_tensor_type(&o, optarg); break;
		case OPT_OUTPUT_TYPE: o.output_tensor_type = ggml_type_arg("--output-tensor-type", optarg); break;
		case OPT_EMBD_TYPE: o.token_embedding_type = ggml_type_arg("--token-embedding-type", optarg); break;
		case OPT_LEAVE_OUTPUT: o.quantize_output_tensor = 0; break;
		case OPT_IMATRIX: o.imatrix = optarg; break;
		case OPT_ALLOW_REQUANT: o.allow_requantize = 1; break;
		case OPT_LIST: list_types(); cli_close_stdout(); return 0;
		case OPT_VOCAB:
			if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "none") != 0)
				cli_usage_error("--vocab: expected auto or none, got '%s'", optarg);
			o.vocab = optarg;
			break;
		case OPT_PLAN: o.plan = 1; break;
		case OPT_SPLIT_SIZE:
			if (cli_parse_size(optarg, &o.split_max_size) != 0 || o.split_max_size == 0)
				cli_usage_error("--split-max-size: expected a size such as 500M or 2G");
			break;
		case OPT_SPLIT_TENSORS: {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end || n < 1 || n > 1000000)
				cli_usage_error("--split-max-tensors: expected a positive count");
			o.split_max_tensors = (int)n;
			break;
		}
		case OPT_HELP: usage(stdout); cli_close_stdout(); return 0;
		case OPT_VERSION: cli_version();
		default: cli_usage_error("unknown option");
		}
	}
	if (optind != argc - 1)
		cli_usage_error(optind == argc ? "no input given" : "one input only");
	o.input = argv[optind];
	if (!o.output && !o.plan)
		cli_usage_error("-o OUTPUT is required");
	/* a folder's weights default to F16, or to the blocks its packed
	 * weights are; a GGUF is requantized to a type that must be named */
	if (stat(o.input, &st) == 0 && S_ISDIR(st.st_mode))
		return st2gguf_from_hf(&o);
	if (o.ftype < 0)
		cli_usage_error("-t TYPE is required");
	if (o.plan || o.vocab || o.split_max_size || o.split_max_tensors || o.qparams)
		cli_usage_error("--plan, --vocab, --split-* and -p apply to Hugging Face folders");
	return st2gguf_requant(&o);
}
