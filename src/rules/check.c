/* placeholder: replaced by the module's implementation */
typedef int pf__placeholder_check;
