/* src/core/core_int.h - declarations shared by the files of src/core only. */
#ifndef SG_CORE_INT_H
#define SG_CORE_INT_H

/* src/core/shortest.c: shortest digits of a finite, non-zero double (sign
 * ignored), as sg_num_shortest returns them. */
int sg_num__shortest_fast(double v, char digits[32], int *dp);

#endif
