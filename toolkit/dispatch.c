/* SPDX-License-Identifier: MIT */
/* main() of a tool made of subcommands: `prog CMD ARGS...`. */
#include "toolkit.h"

#include <string.h>

static void print_usage(FILE *f, const char *synopsis, const tk_command *cmds, size_t n)
{
    fprintf(f, "Usage: %s COMMAND [OPTIONS]\n", tk_prog());
    fprintf(f, "       %s --help | --version\n\n%s\n\nCommands:\n", tk_prog(), synopsis);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\nRun '%s COMMAND --help' for the options of a command.\n", tk_prog());
}

static const tk_command *find_command(const tk_command *cmds, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

/* Run one command with argv[0] = its name; flushing stdout is part of
 * its success. */
static int run(const tk_command *cmd, int argc, char **argv)
{
    tk_set_cmd(cmd->name);
    return tk_finish(cmd->main(argc, argv));
}

int tk_dispatch(const char *prog, const char *synopsis, const tk_command *cmds, size_t n,
                int argc, char **argv)
{
    const tk_command *cmd;
    char shown[300];

    tk_set_prog(prog);
    if (argc < 2)
        return tk_usage_error("no command given");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        (!strcmp(argv[1], "help") && argc == 2)) {
        print_usage(stdout, synopsis, cmds, n);
        return tk_finish(TK_EXIT_OK);
    }
    if (!strcmp(argv[1], "--version")) {
        printf("%s %s\n", prog, SHMCHOP_VERSION_STRING);
        return tk_finish(TK_EXIT_OK);
    }
    if (!strcmp(argv[1], "help")) {
        /* `prog help CMD` is `prog CMD --help`. */
        char *help_argv[] = { argv[2], (char *)"--help", NULL };
        tk_printable(shown, sizeof(shown), argv[2]);
        if (argc > 3)
            return tk_usage_error("help takes one command name");
        cmd = find_command(cmds, n, argv[2]);
        if (!cmd)
            return tk_usage_error("unknown command '%s'", shown);
        return run(cmd, 2, help_argv);
    }
    tk_printable(shown, sizeof(shown), argv[1]);
    if (argv[1][0] == '-')
        return tk_usage_error("unknown option '%s' (a command comes first)", shown);
    cmd = find_command(cmds, n, argv[1]);
    if (!cmd)
        return tk_usage_error("unknown command '%s'", shown);
    return run(cmd, argc - 1, argv + 1);
}
