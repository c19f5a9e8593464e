/* SPDX-License-Identifier: MIT */
/* shmchop-in, the reader tool: main and the subcommand table. */
#include "in_commands.h"
#include "toolkit.h"

#define IN_ENTRY(name, summary) { #name, in_##name##_main, summary },
static const tk_command commands[] = { SHMCHOP_IN_COMMANDS(IN_ENTRY) };
#undef IN_ENTRY

int main(int argc, char **argv)
{
    return tk_dispatch("shmchop-in",
                       "Reads TouchDesigner-compatible shared memory CHOPs and their images.",
                       commands, sizeof(commands) / sizeof(commands[0]), argc, argv);
}
