# Another extension's install script runs with creating_extension set, as
# childguard's own does.  The DDL guard (src/enforce/protection_guard.c)
# lets only childguard's own scripts change childguard's objects, and no
# script leave a protected table unprotected: each hostile script of the
# fixture extension cg_hostile_ddl (test/fixtures/extension) fails, and the
# table stays protected and readable.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node protected_students hostile_versions_refused);

my ($node) = new_node('foreign_ddl', start => 1);
protected_students($node, 'postgres', '小七');

my %hostile = (
	disable_rls => 'ZC400', drop_seal => 'ZC400', drop_category => 'ZC400',
	# PostgreSQL itself refuses to replace another extension's member (55000)
	replace_row_visible => '55000', rename_row_visible => 'ZC401',
	free_member => 'ZC401');
hostile_versions_refused($node, 'postgres', 'cg_hostile_ddl', \%hostile,
	"another extension's script cannot %s");
is($node->safe_psql('postgres', q{SELECT childguard.protection_problem('students') IS NULL}),
	't', 'the table is still protected');
is($node->safe_psql('postgres',
	q{SELECT prosrc FROM pg_proc WHERE oid = 'childguard.row_visible(text)'::regprocedure}),
	'cg_row_visible', 'row_visible() is still childguard\'s');
is($node->safe_psql('postgres', q{SET childguard.purpose = 'regress'; SELECT name FROM students}),
	'小七', 'and the data reads as before');
done_testing();
