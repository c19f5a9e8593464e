/* SPDX-License-Identifier: MIT */
/* shmchop-out, the writer simulator: main and the subcommand table. */
#include "out_commands.h"
#include "toolkit.h"

#define OUT_ENTRY(name, summary) { #name, out_##name##_main, summary },
static const tk_command commands[] = { SHMCHOP_OUT_COMMANDS(OUT_ENTRY) };
#undef OUT_ENTRY

int main(int argc, char **argv)
{
    return tk_dispatch("shmchop-out",
                       "Plays TouchDesigner's Shared Mem Out CHOP: writes CHOP segments and images.",
                       commands, sizeof(commands) / sizeof(commands[0]), argc, argv);
}
