#!/usr/bin/env perl
# test/arch/check_duties.pl — every duty the compliance report checks has
# the test its row names, and that test breaks and repairs it.
#
# Reads every row inserted into childguard.compliance_duty by the install
# and upgrade scripts (sql/childguard--*.sql and the parts of the version
# under development, sql/update/*/*.sql): the duty's name is the row's
# first quoted string, its test the last one that names a file under sql/
# or test/.  Each named test file must exist and mention the duty by name
# (in quotes, as the tests select the duty's row), and mention it at least
# twice: once where it is broken, once where it is repaired.  A textual
# check; a row whose test cannot be found this way is reported too.
# Exit 0 when every duty has its test, 1 otherwise.
#
# Usage: perl test/arch/check_duties.pl [--root DIR]
use strict;
use warnings;
use File::Basename qw(dirname);
use Getopt::Long;

my $root = dirname(__FILE__) . "/../..";
GetOptions('root=s' => \$root) or die "usage: check_duties.pl [--root DIR]\n";

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or return undef;
	local $/;
	my $s = <$fh>;
	close($fh);
	return $s;
}

my @scripts = (glob("$root/sql/childguard--*.sql"), glob("$root/sql/update/*/*.sql"));
my (@faults, %seen);
my $duties = 0;
for my $script (@scripts)
{
	my $text = slurp($script);
	while ($text =~ /INSERT\s+INTO\s+childguard\.compliance_duty\b(.*?);\s*$/gms)
	{
		my $values = $1;
		# one row per "('name', ...)" tuple: up to a ")" that ends a tuple
		while ($values =~ /\(\s*'([a-z][a-z0-9_]*)'(.*?)\)\s*(?:,|$)/gs)
		{
			my ($duty, $rest) = ($1, $2);
			my @files = ($rest =~ /'((?:sql|test)\/[^']+)'/g);
			$duties++;
			(my $where = $script) =~ s/^\Q$root\E\/?//;
			if (!@files)
			{
				push @faults, "$where: duty \"$duty\" names no test file";
				next;
			}
			my $test = $files[-1];
			my $body = slurp("$root/$test");
			if (!defined $body)
			{
				push @faults, "$where: duty \"$duty\": test $test does not exist";
				next;
			}
			my $n = () = $body =~ /'\Q$duty\E'/g;
			push @faults, "$where: duty \"$duty\": $test selects its row $n time(s); it must break and repair it"
				if $n < 2;
			push @faults, "$where: duty \"$duty\" is registered twice" if $seen{$duty}++;
		}
	}
}
if (@faults)
{
	print "check_duties: $_\n" for @faults;
	exit 1;
}
print "check_duties: $duties duties, each broken and repaired by the test it names\n";
exit 0;
