/* syscalls.h — syscall number ↔ name, keyed by the audit `arch=` value (AUDIT_ARCH_*), from
 * libaudit's tables. No allocation, no logging. Returned names are static strings, never freed. */
#ifndef LINEAGE_SYSCALLS_H
#define LINEAGE_SYSCALLS_H

#include <stddef.h>
#include <stdint.h>

#define SYSCALLS_ARCH_X86_64 0xc000003eU /* AUDIT_ARCH_X86_64 */
#define SYSCALLS_ARCH_I386 0x40000003U   /* AUDIT_ARCH_I386 */

/* "x86_64", "i386", … (libaudit's machine name), or NULL for an unknown arch. */
const char *syscalls_arch_name(uint32_t arch);

/* The name of syscall nr on arch (static string), or NULL when unknown. */
const char *syscalls_name(uint32_t arch, long nr);

/* The number of the syscall called name on arch, or -1 when arch or name is unknown. */
long syscalls_number(uint32_t arch, const char *name);

/* Like syscalls_name(), but never NULL: unknown numbers are written as "syscall_<nr>" into
 * buf (size bytes, 32 is enough) and buf is returned. */
const char *syscalls_format(uint32_t arch, long nr, char *buf, size_t size);

#endif
